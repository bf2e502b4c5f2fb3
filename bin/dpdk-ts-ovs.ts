#!/usr/bin/env node
// dpdk-ts-ovs: the ovs-vsctl and ovs-ofctl verbs the reference setup uses, over OVSDB and
// OpenFlow, without either tool.
import { DpdkError } from '../lib/errors.js';
import { dbCommandUsage, dbVerbs, runDbCommand } from './ovs-db-commands.js';
import { flowCommandUsage, runFlowCommand, switchTarget } from './ovs-flow-commands.js';

const usage = `usage: dpdk-ts-ovs [OPTIONS] VERB [ARGS...]

options:
  --db TARGET       OVSDB server: unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT
                    (default unix:RUNDIR/db.sock)
  --rundir DIR      OVS run directory, where BRIDGE.mgmt sockets are
                    (default $OVS_RUNDIR or /var/run/openvswitch)
  --no-wait         do not wait for ovs-vswitchd to apply database changes
  --strict          mod-flows/del-flows: match priority and fields exactly
  --names           dump-flows: print ports by name (as ovs-ofctl --names)
  --bundle          add-flow/add-flows/replace-flows: all flows or none, in one
                    OpenFlow bundle
  --readd           replace-flows: re-add flows the switch already has as given
  --timeout MS      give up after MS milliseconds
  -h, --help        this text

database verbs (like ovs-vsctl):
${dbCommandUsage.map((line) => `  ${line}`).join('\n')}

flow verbs (like ovs-ofctl; SWITCH is a bridge name, unix:PATH, a path or tcp:HOST:PORT;
FILE holds a flow per line, # comments, - reads standard input; a diff-flows SOURCE is
a FILE or a SWITCH, and it exits with 2 when they differ):
${Object.entries(flowCommandUsage)
  .map(([verb, line]) => `  ${verb === 'diff-flows' ? line : line.replace(/^(\S+)/, '$1 SWITCH')}`)
  .join('\n')}
`;

interface Options {
  db?: string;
  rundir: string;
  noWait: boolean;
  strict: boolean;
  names: boolean;
  bundle: boolean;
  readd: boolean;
  timeoutMs?: number;
}

const program = 'dpdk-ts-ovs';

/** A bad command line: exit status 2, where a refused flow or a failed call is 1. */
function fail(message: string): never {
  throw Object.assign(new DpdkError(message, { code: 'EINVAL', operation: program }), { exitCode: 2 });
}

function parse(argv: string[]): { options: Options; verb: string; args: string[] } {
  const options: Options = {
    rundir: process.env.OVS_RUNDIR ?? '/var/run/openvswitch',
    noWait: false,
    strict: false,
    names: false,
    bundle: false,
    readd: false,
  };
  let i = 0;
  const value = (name: string): string => {
    const next = argv[++i];
    if (next === undefined) fail(`${name} needs a value`);
    return next;
  };
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const take = (): string => inline ?? value(name);
    switch (name) {
      case '--db':
        options.db = take();
        break;
      case '--rundir':
        options.rundir = take();
        break;
      case '--no-wait':
        options.noWait = true;
        break;
      case '--strict':
        options.strict = true;
        break;
      case '--names':
        options.names = true;
        break;
      case '--bundle':
        options.bundle = true;
        break;
      case '--readd':
        options.readd = true;
        break;
      case '--timeout': {
        const ms = Number(take());
        if (!Number.isInteger(ms) || ms <= 0)
          fail(`--timeout must be a positive number of milliseconds, got ${JSON.stringify(argv[i])}`);
        options.timeoutMs = ms;
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(usage);
        process.exit(0);
      default:
        fail(`unknown option ${JSON.stringify(name)} (see --help)`);
    }
  }
  const verb = argv[i];
  if (verb === undefined) fail('missing VERB (see --help)');
  return { options, verb, args: argv.slice(i + 1) };
}

async function main(): Promise<void> {
  const { options, verb, args } = parse(process.argv.slice(2));
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  if (dbVerbs.includes(verb)) {
    await runDbCommand(
      verb,
      args,
      { db: options.db ?? `unix:${options.rundir}/db.sock`, noWait: options.noWait, timeoutMs: options.timeoutMs },
      out,
    );
  } else if (verb === 'diff-flows') {
    // As ovs-ofctl: 2 says the sources differ, so a failure is 1.
    process.exitCode = await runFlowCommand(
      verb,
      args,
      { rundir: options.rundir, timeoutMs: options.timeoutMs },
      out,
    ).catch((error: unknown) => {
      throw Object.assign(error as object, { exitCode: 1 });
    });
  } else if (verb in flowCommandUsage) {
    const [bridge, ...rest] = args;
    if (bridge === undefined) fail(`${verb} needs a SWITCH (a bridge name, unix:PATH or tcp:HOST:PORT)`);
    await runFlowCommand(
      verb,
      rest,
      {
        target: switchTarget(bridge, options.rundir),
        strict: options.strict || undefined,
        names: options.names || undefined,
        bundle: options.bundle || undefined,
        readd: options.readd || undefined,
        timeoutMs: options.timeoutMs,
      },
      out,
    );
  } else {
    fail(`unknown verb ${JSON.stringify(verb)} (see --help)`);
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // Messages do not repeat the operation; outside the command line's own errors, it says
  // what failed (add-port, addPort, transact, connect, ...).
  const failed = error instanceof DpdkError && error.operation !== program ? `${error.operation}: ` : '';
  process.stderr.write(`${program}: ${failed}${message}\n`);
  const exitCode = (error as { exitCode?: number }).exitCode;
  // A bad command line is 2 (exitCode set where it is found); anything else, a flow refused
  // by the parser or by the switch included, is 1 as with ovs-ofctl and ovs-vsctl.
  process.exitCode = exitCode ?? 1;
});
