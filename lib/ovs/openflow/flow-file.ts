/**
 * Flow files as `ovs-ofctl` reads them (`add-flows`, `replace-flows`, `diff-flows`): one
 * flow per line, `#` starts a comment that runs to the end of the line, lines left blank
 * are skipped, and line numbers count every line so that errors point into the file.
 */
import type { FlowModCommand } from './flow-mod.js';

/** One flow of a flow file. */
export interface FlowFileLine {
  /** 1-based line number in the file. */
  line: number;
  /** The flow, without its comment and surrounding blanks. */
  text: string;
}

/** Splits a flow file's text into its flows, as `ovs-ofctl`'s preprocessed line reader does. */
export function splitFlowFile(text: string): FlowFileLine[] {
  const flows: FlowFileLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const hash = raw.indexOf('#');
    const flow = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (flow !== '') flows.push({ line: index + 1, text: flow });
  });
  return flows;
}

// In ovs-ofctl's order: a prefix of several (`d`, `modify`) picks the first.
const fileCommands: readonly FlowModCommand[] = ['add', 'delete', 'delete_strict', 'modify', 'modify_strict'];

/**
 * The command an `add-flows` line starts with, as `ovs-ofctl` reads it: the first word
 * (up to a comma or blank) when it is a prefix of `add`, `delete`, `delete_strict`,
 * `modify` or `modify_strict`, else `add` with the whole line as the flow.
 */
export function splitFlowCommand(text: string): { command: FlowModCommand; flow: string } {
  const line = text.replace(/^[ \t\r\n]+/, '');
  const word = /^[^, \t\r\n]*/.exec(line)![0];
  const command = fileCommands.find((name) => name.startsWith(word));
  if (command === undefined) return { command: 'add', flow: line };
  return { command, flow: line.slice(word.length).replace(/^[, \t\r\n]+/, '') };
}
