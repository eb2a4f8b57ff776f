#!/bin/sh
# Entrypoint of the local engine image: the registry the engine mirrors to, then the engine.
set -eu

# cgroup v2 hosts: move this process out of the root group so the engine can delegate
# controllers to its containers. cgroup v1 hosts skip this.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
    sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers \
        > /sys/fs/cgroup/cgroup.subtree_control || :
fi

# The registry listens in the engine's own network namespace, where "localhost:5000" in
# engine.json and in image references resolves. No `ulimit -n`: raising it needs
# CAP_SYS_RESOURCE, which some hosts withhold.
docker-registry serve /etc/docker/registry/config.yml >> /var/log/docker-registry.log 2>&1 &

exec /usr/local/bin/tini -- /usr/local/bin/dagger-engine --config /etc/dagger/engine.toml "$@"
