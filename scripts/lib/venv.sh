# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: create .venv when missing and (re)install the
# project when pyproject.toml or the interpreter changed. Expects to run in the checkout root.
# $1: the extras to install, e.g. "[dev]" or "".
setup_venv() {
    local extras=${1:-} python=${PYTHON:-python3}
    if [[ ! -x .venv/bin/python ]]; then
        echo "creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv .venv
    fi
    local stamp=.venv/.trackrecord-installed want have="" dev
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${extras} $(.venv/bin/python -VV | tr '\n' ' ')"
    # An install with the [dev] extras also serves a plain one (scripts/demo after scripts/test).
    dev="$(sha256sum pyproject.toml | cut -d' ' -f1) [dev] $(.venv/bin/python -VV | tr '\n' ' ')"
    [[ -f $stamp ]] && have=$(cat "$stamp")
    if [[ $have != "$want" && ! ( -z $extras && $have == "$dev" ) ]]; then
        echo "pip install -e \".${extras}\""
        .venv/bin/python -m pip install -q -e ".${extras}"
        printf '%s' "$want" >"$stamp"
    else
        echo "dependencies up to date ($(.venv/bin/python --version))"
    fi
    export PATH="$PWD/.venv/bin:$PATH" VIRTUAL_ENV="$PWD/.venv"
}
