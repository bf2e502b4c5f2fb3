# A dpdk-ts network function: `docker run IMAGE <app> ARGS` runs
# `node /opt/dpdk-ts/dist/examples/<app>.js ARGS`; with `--entrypoint` it runs DPDK's C apps
# the lab compares with, /usr/local/bin/dpdk-testpmd and /usr/local/bin/dpdk-l2fwd.
# Built by buildImage() (tools/lab/images.ts) from a context staged by stageDpdkTs()
# (tools/lab/staging.ts): the host's built dpdk-ts under opt/ (package.json, the compiled
# dist/lib and dist/examples, the addon, the run-time npm packages), its Node binary
# (Debian 12's nodejs is too old), the host's C apps under usr/local/bin/ (the same
# binaries; their libraries come from the same Debian release) and deb-packages.txt, the
# Debian packages that Node, the addon, the C apps and the DPDK driver plugins need.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY deb-packages.txt /tmp/deb-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/deb-packages.txt apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/deb-packages.txt
COPY usr/ /usr/
COPY opt/ /opt/
ENTRYPOINT ["/bin/sh", "-c", "exec /usr/local/bin/node \"/opt/dpdk-ts/dist/examples/$0.js\" \"$@\""]
