/**
 * pktgen.ts's command language: the lines of `--commands`, `--script`/`-f` and the prompt
 * (`set 0 rate 10`, `set all count 100`, `str`, `start 0`, `stp`, `quit`, ...) parsed into
 * typed commands. A mistake is a UsageError saying what is wrong in the line.
 */
import { UsageError } from '../app.js';

/**
 * The most packet templates a port sends (flows x destination ports). Each combination is
 * one template, built before a run and held by the engine: this bounds their memory
 * (1.5 MB a port at 1518 bytes).
 */
export const maxTemplatesPerPort = 1024;

/** What `help` prints: the commands and what they do. */
export const commandHelp = `commands (PORTS: a port, a list such as 0,1 or 0-1, or all):
  set PORTS rate P          send at P percent of the line rate (0 < P <= 100)
  set PORTS pps N           send N packets per second (0: as fast as possible)
  set PORTS count N         send N packets, then stop sending (0: forever)
  set PORTS size N          frame size in bytes, FCS included (64..1518)
  set PORTS src|dst mac X   Ethernet addresses (default: the port's and its peer's)
  set PORTS src|dst ip X    IPv4 addresses (a /prefix length is accepted and ignored)
  set PORTS sport N         UDP source port (of the first flow)
  set PORTS flows N         send N flows in turn: UDP source ports sport..sport+N-1
                            (default 1; flows x dports is at most ${maxTemplatesPerPort})
  set PORTS dport N[,N...]  UDP destination port(s): packets cycle through every
                            combination of flow and destination port, source port fastest,
                            so e.g. "dport 53,6666,80" and "count 300" send 100 to each
  str                       start every port (a new run: counters from zero)
  start PORTS               a new run in which only PORTS send; the others only receive
  stp                       stop every port
  page stats | show         print the stats table
  clear | clr               zero the counters (ports stopped)
  delay MS                  wait MS milliseconds (for scripts)
  probe [S]                 wait until the path delivers: rounds of 8 packets from every
                            port at 1000 pps until one arrives whole at every port, at
                            most S seconds (default 10); they count in no later run
  wait [S]                  wait until every port with a count has sent it and its peer
                            has received what it sent, at most S seconds (default: the
                            --timeout); a script's way to do what --wait-done does
  search PORTS [trial S] [resolution R] [tolerance P] [min RATE] [max RATE] [retries N]
                            zero-loss throughput (RFC 2544 26.1): binary search for the
                            highest rate at which PORTS' peers receive every packet PORTS
                            send, in trials of S seconds (default 1) until the rate is
                            within R (P% of it, or N pps; default 1%), a trial passing
                            when at most P percent is lost (default 0); RATE (per port)
                            is N pps or P% of the line rate (default 0 to 100%). Then a
                            trial at the rate found measures latency. retries N repeats a
                            failing trial up to N times (default 0; a stall of a shared CPU
                            can lose packets below the limit). Counts and rates set before
                            are restored afterwards
  help                      this list
  quit                      stop, print the final table and exit`;

/** The ports a command names: `all`, or port ids (`0`, `0,1`, `0-1`). */
export type PortList = 'all' | number[];

/** What `set PORTS ...` changes, with its value. */
export type Setting =
  | { field: 'rate'; percent: number }
  | { field: 'pps'; pps: number }
  | { field: 'count'; count: number }
  | { field: 'size'; size: number }
  | { field: 'srcMac' | 'dstMac'; mac: string }
  | { field: 'srcIp' | 'dstIp'; ip: string }
  | { field: 'srcPort'; udpPort: number }
  | { field: 'dstPorts'; udpPorts: number[] }
  | { field: 'flows'; flows: number };

/** A rate given to `search`: packets per second, or a percentage of the line rate. */
export interface SearchRate {
  unit: 'pps' | 'percent';
  value: number;
}

/** What `search PORTS ...` asks for (see {@link commandHelp}). */
export interface SearchSettings {
  /** Each trial's length, in milliseconds. */
  trialMs: number;
  /** Stop within this many pps (unit pps), or this percentage of the rate (unit percent). */
  resolution: SearchRate;
  /** The fraction of packets a passing trial may lose. */
  lossTolerance: number;
  /** The lowest and highest rate per port to try. */
  min: SearchRate;
  max: SearchRate;
  /** How many times a failing trial is repeated before its rate counts as failed. */
  retries: number;
}

/** One command of the language (`page stats` is `show`, `clr` is `clear`, `exit` is `quit`). */
export type Command =
  | { verb: 'set'; ports: PortList; setting: Setting }
  | { verb: 'str' | 'stp' | 'show' | 'clear' | 'help' | 'quit' }
  | { verb: 'start'; ports: PortList }
  | { verb: 'delay'; ms: number }
  | { verb: 'wait'; timeoutS: number | undefined }
  | { verb: 'probe'; timeoutS: number }
  | { verb: 'search'; ports: PortList; search: SearchSettings };

function parsePortList(text: string, command: string): PortList {
  if (text === 'all') return 'all';
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null)
      throw new UsageError(
        `${command}: "${text}" is not a port list: expected a port, a list such as 0,1 or 0-1, or all`,
      );
    const last = Number(range[2] ?? range[1]);
    for (let port = Number(range[1]); port <= last; port++) ports.push(port);
  }
  return ports;
}

function parseInteger(text: string | undefined, what: string, min: number, max: number, command: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(
      `${command}: ${what} must be an integer from ${min} to ${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`,
    );
  }
  return Number(text);
}

function parseSetting(words: string[], command: string): Setting {
  const [field, ...rest] = words;
  const single = (what: string): string => {
    if (rest.length !== 1)
      throw new UsageError(`${command}: set ${field} takes one value (${what}), got ${rest.length}`);
    return rest[0];
  };
  switch (field) {
    case 'rate': {
      const text = single('a percentage');
      const percent = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text) || percent <= 0 || percent > 100) {
        throw new UsageError(
          `${command}: rate must be a percentage of the line rate above 0 and at most 100, got "${text}"`,
        );
      }
      return { field, percent };
    }
    case 'pps': {
      const text = single('packets per second');
      if (!/^\d+(\.\d+)?$/.test(text))
        throw new UsageError(`${command}: pps must be a number of packets per second >= 0, got "${text}"`);
      return { field, pps: Number(text) };
    }
    case 'count':
      return { field, count: parseInteger(single('a packet count'), 'count', 0, Number.MAX_SAFE_INTEGER, command) };
    case 'size':
      return { field, size: parseInteger(single('a frame size'), 'size (bytes, FCS included)', 64, 1518, command) };
    case 'sport':
      return { field: 'srcPort', udpPort: parseInteger(single('a UDP port'), 'sport', 0, 65535, command) };
    case 'dport': {
      const list = single('a UDP port or a list such as 53,6666,80');
      const udpPorts = list.split(',').map((text) => parseInteger(text, 'each dport', 0, 65535, command));
      if (udpPorts.length > maxTemplatesPerPort) {
        throw new UsageError(
          `${command}: dport lists ${udpPorts.length} ports; a port sends at most ${maxTemplatesPerPort} packet templates (flows x dports)`,
        );
      }
      return { field: 'dstPorts', udpPorts };
    }
    case 'flows': {
      const text = single('a number of flows');
      if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > maxTemplatesPerPort) {
        throw new UsageError(
          `${command}: flows must be an integer from 1 to ${maxTemplatesPerPort} (each flow is a packet template, ` +
            `and a port sends at most ${maxTemplatesPerPort}), got "${text}"`,
        );
      }
      return { field: 'flows', flows: Number(text) };
    }
    case 'src':
    case 'dst': {
      const [kind, value] = rest;
      if (rest.length !== 2 || (kind !== 'mac' && kind !== 'ip')) {
        throw new UsageError(
          `${command}: expected "set PORTS ${field} mac XX:XX:XX:XX:XX:XX" or "set PORTS ${field} ip A.B.C.D"`,
        );
      }
      if (kind === 'mac') {
        if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) {
          throw new UsageError(
            `${command}: ${field} mac must be a MAC address such as 00:00:00:00:00:01, got "${value}"`,
          );
        }
        return { field: field === 'src' ? 'srcMac' : 'dstMac', mac: value.toLowerCase() };
      }
      const [address, prefix] = value.split('/');
      if (
        !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) ||
        address.split('.').some((byte) => Number(byte) > 255) ||
        (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= 32))
      ) {
        throw new UsageError(
          `${command}: ${field} ip must be an IPv4 address such as 192.168.0.1 (optionally /24), got "${value}"`,
        );
      }
      return { field: field === 'src' ? 'srcIp' : 'dstIp', ip: address };
    }
    default:
      throw new UsageError(
        `${command}: unknown setting "${field}": expected rate, pps, count, size, src, dst, sport, dport or flows`,
      );
  }
}

// A rate of `search`: N packets per second (N > 0), or P% of the line rate (0 < P <= 100).
function parseSearchRate(name: string, text: string, command: string): SearchRate {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent !== null && Number(percent[1]) > 0 && Number(percent[1]) <= 100)
    return { unit: 'percent', value: Number(percent[1]) };
  if (percent === null && /^\d+(\.\d+)?$/.test(text) && Number(text) > 0) return { unit: 'pps', value: Number(text) };
  throw new UsageError(
    `${command}: ${name} must be a rate in packets per second above 0, or a percentage of the line rate such as 50%, got "${text}"`,
  );
}

function parseSearch(words: string[], command: string): SearchSettings {
  const settings: SearchSettings = {
    trialMs: 1000,
    resolution: { unit: 'percent', value: 1 },
    lossTolerance: 0,
    min: { unit: 'pps', value: 0 },
    max: { unit: 'percent', value: 100 },
    retries: 0,
  };
  const given = new Set<string>();
  for (let i = 0; i < words.length; i += 2) {
    const [option, text] = [words[i], words[i + 1]];
    if (text === undefined) throw new UsageError(`${command}: search option "${option}" needs a value`);
    if (given.has(option)) throw new UsageError(`${command}: search option "${option}" is given twice`);
    given.add(option);
    switch (option) {
      case 'trial': {
        if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0 || Number(text) > 3600) {
          throw new UsageError(`${command}: trial must be a number of seconds above 0 and at most 3600, got "${text}"`);
        }
        settings.trialMs = Number(text) * 1000;
        break;
      }
      case 'resolution': {
        const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
        if (percent !== null && Number(percent[1]) > 0 && Number(percent[1]) < 100)
          settings.resolution = { unit: 'percent', value: Number(percent[1]) };
        else if (percent === null && /^\d+$/.test(text) && Number(text) > 0)
          settings.resolution = { unit: 'pps', value: Number(text) };
        else
          throw new UsageError(
            `${command}: resolution must be a percentage of the rate above 0 and below 100 such as 1%, ` +
              `or a whole number of packets per second above 0, got "${text}"`,
          );
        break;
      }
      case 'tolerance': {
        const value = Number(text.replace(/%$/, ''));
        if (!/^\d+(\.\d+)?%?$/.test(text) || value >= 100) {
          throw new UsageError(
            `${command}: tolerance must be the percentage of packets a trial may lose, from 0 to below 100, got "${text}"`,
          );
        }
        settings.lossTolerance = value / 100;
        break;
      }
      case 'min':
      case 'max':
        settings[option] = parseSearchRate(option, text, command);
        break;
      case 'retries':
        if (!/^\d+$/.test(text) || Number(text) > 10) {
          throw new UsageError(`${command}: retries must be a whole number from 0 to 10, got "${text}"`);
        }
        settings.retries = Number(text);
        break;
      default:
        throw new UsageError(
          `${command}: unknown search option "${option}": expected trial, resolution, tolerance, min, max or retries`,
        );
    }
  }
  const { min, max } = settings;
  if (min.unit === max.unit && min.value > max.value)
    throw new UsageError(`${command}: min (${min.value}${min.unit === 'percent' ? '%' : ' pps'}) is above max`);
  return settings;
}

/** Parses one command line; null for a blank line or a comment. Throws UsageError on a bad one. */
export function parseCommand(line: string): Command | null {
  const text = line.replace(/#.*/, '').trim();
  if (text === '') return null;
  const words = text.split(/\s+/);
  const verb = words[0].toLowerCase();
  const noArguments = (name: 'str' | 'stp' | 'show' | 'clear' | 'help' | 'quit'): Command => {
    if (words.length > 1) throw new UsageError(`"${text}": ${verb} takes no arguments`);
    return { verb: name };
  };
  switch (verb) {
    case 'set':
      if (words.length < 4)
        throw new UsageError(`"${text}": expected "set PORTS SETTING VALUE", e.g. "set 0 count 100"`);
      return {
        verb: 'set',
        ports: parsePortList(words[1], `"${text}"`),
        setting: parseSetting(words.slice(2), `"${text}"`),
      };
    case 'str':
      return noArguments('str');
    case 'start':
      if (words.length !== 2) throw new UsageError(`"${text}": expected "start PORTS", e.g. "start 0"`);
      return { verb: 'start', ports: parsePortList(words[1], `"${text}"`) };
    case 'stp':
      return noArguments('stp');
    case 'show':
      return noArguments('show');
    case 'page':
      if (words.length !== 2 || words[1] !== 'stats') throw new UsageError(`"${text}": the only page is "page stats"`);
      return { verb: 'show' };
    case 'clear':
    case 'clr':
      return noArguments('clear');
    case 'help':
      return noArguments('help');
    case 'quit':
    case 'exit':
      return noArguments('quit');
    case 'delay':
      return { verb: 'delay', ms: parseInteger(words[1], 'delay (milliseconds)', 0, 3_600_000, `"${text}"`) };
    case 'wait':
      if (words.length > 2) throw new UsageError(`"${text}": expected "wait [SECONDS]", e.g. "wait 30"`);
      return {
        verb: 'wait',
        timeoutS: words.length === 1 ? undefined : parseInteger(words[1], 'wait (seconds)', 1, 86_400, `"${text}"`),
      };
    case 'probe':
      if (words.length > 2) throw new UsageError(`"${text}": expected "probe [SECONDS]", e.g. "probe 10"`);
      return {
        verb: 'probe',
        timeoutS: words.length === 1 ? 10 : parseInteger(words[1], 'probe (seconds)', 1, 3600, `"${text}"`),
      };
    case 'search':
      if (words.length < 2)
        throw new UsageError(`"${text}": expected "search PORTS [trial S] ...", e.g. "search 0,1 trial 0.5"`);
      return {
        verb: 'search',
        ports: parsePortList(words[1], `"${text}"`),
        search: parseSearch(words.slice(2), `"${text}"`),
      };
    default:
      throw new UsageError(
        `"${text}": unknown command "${words[0]}": expected set, str, start, stp, page stats, show, clear, delay, probe, wait, search, help or quit`,
      );
  }
}

/** A line of commands as given, and where it comes from (`FILE:LINE`, `--commands command N`). */
export interface SourceLine {
  text: string;
  source: string;
}

/** A parsed command, with its text (trimmed) and where it comes from. */
export interface ScriptCommand {
  command: Command;
  text: string;
  source: string;
}

/**
 * Parses the commands given on the command line, skipping blank lines and comments; a bad
 * one is a UsageError that starts with where it comes from.
 */
export function parseScript(lines: SourceLine[]): ScriptCommand[] {
  return lines.flatMap(({ text, source }) => {
    try {
      const command = parseCommand(text);
      return command === null ? [] : [{ command, text: text.trim(), source }];
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${source}: ${error.message}`);
      throw error;
    }
  });
}
