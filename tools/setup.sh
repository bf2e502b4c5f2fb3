#!/usr/bin/env bash
# Installs what dpdk-ts needs on Debian 12, idempotently: Debian packages, npm
# dependencies, the native build, DPDK's C l2fwd (the lab's reference for experiment 2)
# and hugepages. Used by `npm test`, `npm run lab`, CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/progress.sh
source tools/progress.sh

packages=(libdpdk-dev dpdk dpdk-dev dpdk-doc pkg-config cmake g++ make python3 openvswitch-switch-dpdk openssl clang-format tmux prometheus tcpdump tshark ovn-central ovn-host)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "dpdk-ts setup: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  run_step "apt-get update" apt-get update
  run_step "installing ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
  # The metrics test runs its own prometheus (test/metrics.test.ts): Debian's package
  # enables and starts a system-wide one, which is not wanted (nor its port 9090 taken).
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    else
      # No systemd (a container): the init script, if policy-rc.d let it start at all.
      service prometheus stop >/dev/null 2>&1 || true
      update-rc.d prometheus disable >/dev/null 2>&1 || true
    fi
  fi
  # OVN's tests and the lab start private central services and chassis (OvnCentral):
  # system-wide ones, which the packages enable, are not wanted.
  if [[ " ${missing[*]} " == *" ovn-"* ]]; then
    for service in ovn-central ovn-host; do
      if [ -d /run/systemd/system ]; then
        systemctl disable --now "$service" >/dev/null 2>&1 || true
      else
        service "$service" stop >/dev/null 2>&1 || true
        update-rc.d "$service" disable >/dev/null 2>&1 || true
      fi
    done
  fi
fi

if [ -L node_modules ]; then
  # A node_modules shared from another checkout (a git worktree's symlink): npm ci would empty
  # and reinstall that checkout's packages under it.
  echo "setup: node_modules is a link to $(readlink -f node_modules): not reinstalling it" >&2
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

addon=build/Release/dpdk_ts.node
if [ ! -f "$addon" ] || [ -n "$(find native CMakeLists.txt -newer "$addon" 2>/dev/null | head -1)" ]; then
  npm run --silent build:native
fi

if [ ! -f dist/lib/index.js ] || [ -n "$(find lib bin examples -name '*.ts' -newer dist/lib/index.js 2>/dev/null | head -1)" ]; then
  npm run --silent build:ts
fi

# DPDK's own l2fwd, which Debian ships as sources only (dpdk-doc): built against
# libdpdk-dev outside the shipped package; make rebuilds only when they changed.
l2fwd_sources=/usr/share/dpdk/examples/l2fwd
mkdir -p build/l2fwd-c
cp -u "$l2fwd_sources/main.c" "$l2fwd_sources/Makefile" build/l2fwd-c/
make -s -C build/l2fwd-c

# 512 x 2 MiB hugepages; DPDK's --in-memory mode needs no hugetlbfs mount, but tools
# started without it (dpdk-testpmd, ovs-vswitchd) do.
if [ "$(id -u)" = 0 ]; then
  pages=$(cat /proc/sys/vm/nr_hugepages)
  if [ "$pages" -lt 512 ]; then echo 512 > /proc/sys/vm/nr_hugepages || true; fi
  if ! mountpoint -q /dev/hugepages; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages || true
  fi
fi
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 256 ]; then
  echo "dpdk-ts setup: fewer than 256 hugepages reserved; DPDK tests will use --no-huge where they can" >&2
fi
