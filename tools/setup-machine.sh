#!/usr/bin/env bash
# Set up a Debian bookworm machine (root) for dynamo-pipeline: Debian packages, the Docker daemon,
# the locked Python environment (.venv) and the local Dagger engine with its registry.
# Idempotent: what is installed, running or cached is reused. Prints the time of each phase.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() {  # phase NAME COMMAND...: run COMMAND and print how long it took
    local name=$1 start=$SECONDS
    shift
    echo "[setup] $name ..."
    "$@"
    echo "[setup] $name: done in $((SECONDS - start))s"
}

DEBIAN_PACKAGES=(docker.io debootstrap libseccomp-dev ca-certificates gcc)

install_packages() {
    local missing=()
    for package in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

start_docker() {
    docker info >/dev/null 2>&1 && return
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return
        sleep 1
    done
    echo "dockerd did not start; see /var/log/dockerd.log" >&2
    tail -20 /var/log/dockerd.log >&2
    return 1
}

python_env() {
    command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
    uv sync --frozen --quiet
}

phase "Debian packages" install_packages
phase "Docker daemon" start_docker
phase "Python environment (uv sync --frozen)" python_env
phase "local Dagger engine" .venv/bin/python -m pipeline engine up
