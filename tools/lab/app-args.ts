/**
 * The command lines of the lab's apps, built from typed settings for the machine they run
 * on: every EAL lcore on the one CPU the lab pins the app to, hugepage memory taken as
 * needed (or a fixed amount without hugepages), one virtio-user port per OVS socket; then
 * the app's own options. The reference setup's command lines, written for a bigger machine
 * (`-c 0x19 --master-lcore 3 --socket-mem 1024,1024`), are kept only to show beside them.
 */
import { join } from 'node:path';
import { ealArgs } from '../../lib/eal.js';

/** A virtio-user port of an app, the peer of an OVS vhost-user port. */
export interface VirtioPort {
  /** The device's number: `net_virtio_user<index>`. */
  index: number;
  /** The socket's name in the socket directory (the OVS port's name). */
  socket: string;
  /** The port's MAC address. */
  mac: string;
}

/** What an app's EAL needs: where it runs, its memory, and its ports. */
export interface AppEalSettings {
  /** The CPU the lab pins the app to (taskset, or the container's cpuset). */
  cpu: number;
  /** EAL's `--file-prefix`, one per app. */
  filePrefix: string;
  /** Ordinary memory (`--no-huge`, {@link noHugeMemoryMb}) instead of hugepages taken as needed. */
  noHuge: boolean;
  /** The app's ports, in port id order. */
  ports: readonly VirtioPort[];
  /** `client`: OVS connects and the app serves the sockets (`server=1`); `server`: OVS serves them. */
  vhostMode: 'client' | 'server';
  /** The socket directory as the app sees it. */
  socketDir: string;
}

/** What one run of the generator does. */
export interface GeneratorRunSettings {
  /** pktgen commands run first, `;`-separated; the rest come on its stdin. */
  commands: string;
  /** The generator's CPU is shared with another busy poller: its engines yield when idle. */
  sharedCpu: boolean;
  /** Milliseconds the ports stay open after the report, so that OVS's counters of them can be read. */
  lingerMs: number;
}

/**
 * The C forwarder of experiment 1 (DPDK's dpdk-testpmd, io forwarding from the start,
 * statistics only at exit) or 2 (DPDK's l2fwd sample), with the same EAL arguments as the
 * dpdk-ts forwarders; the application options are the dpdk-ts forwarders' where the C app
 * has them. dpdk-testpmd without `-i` reads stdin once its statistics loop ends, so a long
 * `--stats-period` keeps it forwarding until SIGTERM; its pool is sized to fit `--no-huge`.
 */
export function cForwarderArgs(forwarder: 'testpmd' | 'l2fwd', eal: AppEalSettings): string[] {
  const app =
    forwarder === 'testpmd'
      ? [
          '--burst=64',
          '--txd=2048',
          '--rxd=2048',
          '--forward-mode=io',
          '--nb-cores=1',
          '--stats-period=86400',
          '--total-num-mbufs=16384',
        ]
      : ['-p', '0x3', '-q', '2', '-T', '0'];
  return [...appEalArgs(eal, 1, noHugeMemoryMb.forwarder), '--', ...app];
}

/**
 * DPDK's dpdk-testpmd in flowgen mode on two ports, the lab's measure of OVS alone on a
 * CPU (ovs-limit.ts): it sends on both ports and frees what comes back, one busy poller.
 */
export function flowgenArgs(eal: AppEalSettings): string[] {
  return [
    ...appEalArgs(eal, 1, noHugeMemoryMb.forwarder),
    '--',
    '--forward-mode=flowgen',
    '--burst=64',
    '--txd=2048',
    '--rxd=2048',
    '--nb-cores=1',
    '--stats-period=86400',
    '--total-num-mbufs=16384',
  ];
}

/** A network function of the service chain (examples/ips.ts). */
export interface NetworkFunctionSettings {
  /** `inline` passes what no rule matches from port 0 to port 1; `detect` only counts. */
  mode: 'inline' | 'detect';
  /** The rule, in packet-filter syntax. */
  rule: string;
  /** Yield the CPU when nothing arrived (`--yield-when-idle`). */
  yieldWhenIdle: boolean;
  /** Print the counters every N seconds (`--stats-period`); default 0, none. */
  statsPeriodSeconds?: number;
  /** More of examples/ips.ts's options (`--eth-dst MAC --eth-src MAC`, `--decap gre`). */
  extra?: readonly string[];
}

/** The reference setup's command lines (`../shared/REFERENCE-SETUP.md`), ports left out. */
export const referenceCommandLines = {
  pktgen:
    'pktgen -c 0x19 --master-lcore 3 -n 1 --socket-mem 1024,1024 --file-prefix pktgen --no-pci -- -T -P -m "0.0,4.1"',
  testpmd:
    'testpmd -c 0xE0 -n 1 --socket-mem 1024,1024 --file-prefix testpmd --no-pci -- -i --burst=64 --disable-hw-vlan --txd=2048 --rxd=2048 -a --coremask=0xc0',
  l2fwd: 'l2fwd -c 0xE0 -n 1 --socket-mem 1024,1024 --file-prefix testpmd --no-pci -- -p 0x3',
} as const;

/**
 * MiB of ordinary memory each app gets with `--no-huge` (virtio-user then shares it with
 * vhost through memfd): enough for its mempool and rings, since EAL cannot grow it.
 */
export const noHugeMemoryMb = { generator: 512, forwarder: 512, networkFunction: 256 } as const;

/**
 * EAL arguments of an app with a main lcore (0) and `workers` worker lcores (1..workers),
 * all on the app's CPU (the reference's separate CPUs per lcore do not exist here), and
 * `noHugeMb` of ordinary memory with `--no-huge`.
 */
function appEalArgs(settings: AppEalSettings, workers: number, noHugeMb: number): string[] {
  const server = settings.vhostMode === 'client' ? ',server=1' : '';
  return ealArgs({
    lcores: Array.from({ length: workers + 1 }, (_, lcore) => `${lcore}@${settings.cpu}`).join(','),
    memoryChannels: 1,
    ...(settings.noHuge ? { noHuge: true, memoryMb: noHugeMb } : {}),
    filePrefix: settings.filePrefix,
    vdevs: settings.ports.map(
      (port) => `net_virtio_user${port.index},mac=${port.mac},path=${join(settings.socketDir, port.socket)}${server}`,
    ),
  });
}

/**
 * The generator (examples/pktgen.ts): one worker lcore serves both ports (`-m 1.[0-1]`;
 * the reference's `0.0,4.1` puts them on two lcores, which would be two busy pollers on
 * the one CPU the generator has), the final counters as one JSON line on stdout.
 */
export function generatorArgs(eal: AppEalSettings, run: GeneratorRunSettings): string[] {
  return [
    ...appEalArgs(eal, 1, noHugeMemoryMb.generator),
    '--',
    '-T',
    '-P',
    '-m',
    '1.[0-1]',
    ...(run.sharedCpu ? ['--shared-cpu'] : []),
    '--linger',
    String(run.lingerMs),
    '--commands',
    run.commands,
    '--json',
    '-',
  ];
}

/**
 * The forwarder of experiment 1 (examples/testpmd.ts, io forwarding started at once) or 2
 * (examples/l2fwd.ts): one worker lcore forwards both ports (the reference's two, on
 * CPUs of their own, would share the one CPU here); counters as JSON at the end.
 */
export function forwarderArgs(forwarder: 'testpmd' | 'l2fwd', eal: AppEalSettings): string[] {
  const app =
    forwarder === 'testpmd'
      ? [
          '--burst=64',
          '--disable-hw-vlan',
          '--txd=2048',
          '--rxd=2048',
          '-a',
          '--coremask=0x2',
          '--stats-period=0',
          '--json',
        ]
      : ['-p', '0x3', '-q', '2', '-T', '0', '--json'];
  return [...appEalArgs(eal, 1, noHugeMemoryMb.forwarder), '--', ...app];
}

/** A network function of the service chain (examples/ips.ts): its loop on the app's CPU, counters as JSON at the end. */
export function networkFunctionArgs(eal: AppEalSettings, nf: NetworkFunctionSettings): string[] {
  return [
    ...appEalArgs(eal, 0, noHugeMemoryMb.networkFunction),
    '--',
    '--mode',
    nf.mode,
    '--rule',
    nf.rule,
    '--cpu',
    String(eal.cpu),
    '--stats-period',
    String(nf.statsPeriodSeconds ?? 0),
    '--json',
    ...(nf.yieldWhenIdle ? ['--yield-when-idle'] : []),
    ...(nf.extra ?? []),
  ];
}
