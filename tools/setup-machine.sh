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

docker_answers_within() {  # docker_answers_within SECONDS
    for _ in $(seq "$1"); do
        docker info >/dev/null 2>&1 && return
        sleep 1
    done
    return 1
}

start_docker() {
    docker info >/dev/null 2>&1 && return
    # A daemon still starting or shutting down (e.g. killed with the previous session) holds the
    # socket and pid file: let it finish either way before starting one.
    if pgrep -x dockerd >/dev/null; then
        docker_answers_within 30 && return
        pkill -x dockerd || true
        for _ in $(seq 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
    fi
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    docker_answers_within 60 && return
    echo "dockerd did not start; the end of /var/log/dockerd.log:" >&2
    tail -c 3000 /var/log/dockerd.log | tr -d '\000' >&2
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
