/**
 * The Debian mirrors this machine's apt is set up for, read from its sources (one-line
 * `.list` and deb822 `.sources` files), and the `sources.list` an image built from them
 * gets: images are debootstrapped from the mirror the machine can reach.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DpdkError } from '../../lib/errors.js';

/** Debian mirrors for one release, as read from apt's configured sources. */
export interface DebianMirrors {
  /** Mirror serving the release itself, e.g. `http://deb.debian.org/debian`. */
  main: string;
  /** Mirror serving `<release>-updates`, when configured. */
  updates?: string;
  /** Mirror serving `<release>-security`, when configured. */
  security?: string;
}

interface SourceEntry {
  uris: string[];
  suites: string[];
}

/**
 * Reads the Debian mirrors of `release` from apt's sources (one-line `.list` and deb822
 * `.sources` files), so that images are built from the mirror this machine is set up for.
 */
export function debianMirrors(release = 'bookworm', sourceFiles: readonly string[] = aptSourceFiles()): DebianMirrors {
  const operation = 'debianMirrors';
  const bySuite = new Map<string, string>();
  for (const file of sourceFiles) {
    const text = readFileSync(file, 'utf8');
    const entries = file.endsWith('.sources') ? deb822Entries(text) : oneLineEntries(text);
    for (const entry of entries) {
      for (const suite of entry.suites) {
        if (!bySuite.has(suite) && entry.uris.length > 0) bySuite.set(suite, entry.uris[0].replace(/\/+$/, ''));
      }
    }
  }
  const main = bySuite.get(release);
  if (main === undefined) {
    throw new DpdkError(
      `no apt source for Debian "${release}" in ${sourceFiles.join(', ') || '(no files)'}; ` +
        `add e.g. "deb http://deb.debian.org/debian ${release} main" to /etc/apt/sources.list`,
      { code: 'ENOENT', operation, object: release },
    );
  }
  const mirrors: DebianMirrors = { main };
  const updates = bySuite.get(`${release}-updates`);
  const security = bySuite.get(`${release}-security`);
  if (updates !== undefined) mirrors.updates = updates;
  if (security !== undefined) mirrors.security = security;
  return mirrors;
}

/** The `/etc/apt/sources.list` an image of `release` gets, from the host's mirrors. */
export function imageSourcesList(release: string, mirrors: DebianMirrors): string {
  const lines = [`deb ${mirrors.main} ${release} main`];
  if (mirrors.updates !== undefined) lines.push(`deb ${mirrors.updates} ${release}-updates main`);
  if (mirrors.security !== undefined) lines.push(`deb ${mirrors.security} ${release}-security main`);
  return `${lines.join('\n')}\n`;
}

function aptSourceFiles(): string[] {
  const files = existsSync('/etc/apt/sources.list') ? ['/etc/apt/sources.list'] : [];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
    }
  }
  return files;
}

function oneLineEntries(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine
      .replace(/#.*/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type === 'deb' && uri !== undefined && suite !== undefined) entries.push({ uris: [uri], suites: [suite] });
  }
  return entries;
}

function deb822Entries(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match !== null) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || fields.get('enabled') === 'no') continue;
    entries.push({
      uris: (fields.get('uris') ?? '').split(/\s+/).filter((uri) => uri !== ''),
      suites: (fields.get('suites') ?? '').split(/\s+/).filter((suite) => suite !== ''),
    });
  }
  return entries;
}
