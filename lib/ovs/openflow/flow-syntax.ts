/**
 * The `ovs-ofctl` flow syntax, entry points: {@link parseFlowMod} (as `add-flow`,
 * `mod-flows` and `del-flows` take a flow) and {@link parseFlowFilter} (as `dump-flows`
 * does). The tokens are read in flow-tokens.ts, the match in flow-match.ts, the actions
 * in flow-actions.ts.
 */
import { checkOptions } from '../../validate.js';
import { parseActions } from './flow-actions.js';
import { parseFlowText } from './flow-match.js';
import type { FlowMod, FlowModCommand } from './flow-mod.js';
import { syntaxError, type FlowSyntaxOptions } from './flow-tokens.js';
import type { FlowStatsRequest } from './multipart.js';

export type { FlowSyntaxOptions } from './flow-tokens.js';

/** Options of {@link parseFlowMod}. */
export interface ParseFlowModOptions extends FlowSyntaxOptions {
  /** The flow-mod command: `add` and `modify*` need actions, `delete*` takes none. */
  command: FlowModCommand;
}

const parseFlowModKeys = ['command', 'portMap'] as const satisfies readonly (keyof ParseFlowModOptions)[];
const flowSyntaxKeys = ['portMap'] as const satisfies readonly (keyof FlowSyntaxOptions)[];

/**
 * Parses an `ovs-ofctl` flow string (as `add-flow`, `mod-flows` and `del-flows` take
 * it) into a {@link FlowMod}, e.g. `in_port=2,dl_type=0x800,idle_timeout=0,action=output:3`
 * or `priority=10,udp,nw_src=10.0.0.0/24,tp_dst=53,actions=mod_dl_dst:00:00:00:00:00:02,output:3`.
 * Throws `EINVAL` naming the offending token and what is accepted.
 */
export function parseFlowMod(flow: string, options: ParseFlowModOptions): FlowMod {
  checkOptions<ParseFlowModOptions>('parseFlowMod', options, parseFlowModKeys);
  const parsed = parseFlowText(flow, options);
  const isDelete = options.command === 'delete' || options.command === 'delete_strict';
  const flowMod: FlowMod = { command: options.command, match: parsed.match };
  if (isDelete) {
    if (parsed.actionsText !== undefined) {
      syntaxError(flow, 'deleting flows takes no actions; remove "actions=..."');
    }
  } else if (parsed.actionsText === undefined) {
    syntaxError(flow, 'missing actions: end the flow with actions=... (e.g. actions=output:3 or actions=drop)');
  } else {
    flowMod.instructions = parseActions(flow, parsed.actionsText, parsed.match, options);
  }
  if (parsed.cookie !== undefined) {
    if (options.command === 'add' && parsed.cookieMask !== undefined) {
      syntaxError(flow, 'adding a flow takes a plain cookie=VALUE; a /MASK only filters mod-flows and del-flows');
    }
    if ((options.command === 'modify' || options.command === 'modify_strict') && parsed.cookieMask === undefined) {
      syntaxError(
        flow,
        'OpenFlow 1.3 cannot change the cookie of existing flows; give cookie=VALUE/MASK to select the flows to modify',
      );
    }
    flowMod.cookie = parsed.cookie;
    if (parsed.cookieMask !== undefined) {
      flowMod.cookieMask = parsed.cookieMask;
    } else if (isDelete) {
      flowMod.cookieMask = 0xffffffffffffffffn;
    }
  }
  for (const key of ['priority', 'tableId', 'idleTimeout', 'hardTimeout', 'outPort', 'outGroup'] as const) {
    if (parsed[key] !== undefined) {
      flowMod[key] = parsed[key];
    }
  }
  if (parsed.flags.length > 0) {
    flowMod.flags = parsed.flags;
  }
  return flowMod;
}

const filterRefusals = [
  ['priority', 'priority'],
  ['idleTimeout', 'idle_timeout'],
  ['hardTimeout', 'hard_timeout'],
] as const;
const filterSelects = 'it selects flows by match, table, cookie=VALUE/MASK, out_port and out_group';

/**
 * Parses the flow filter `dump-flows` takes (match fields, `table=`, `cookie=V/M`,
 * `out_port=`, `out_group=`) into a {@link FlowStatsRequest}. Throws `EINVAL` on a bad
 * token, and, as `ovs-ofctl` does, on what a filter cannot select by: priority, timeouts,
 * flags, a cookie without a mask.
 */
export function parseFlowFilter(flow: string, options: FlowSyntaxOptions = {}): FlowStatsRequest {
  checkOptions<FlowSyntaxOptions>('parseFlowFilter', options, flowSyntaxKeys);
  const parsed = parseFlowText(flow, options);
  if (parsed.actionsText !== undefined) {
    syntaxError(flow, 'a flow filter takes no actions; remove "actions=..."');
  }
  // As ovs-ofctl: a filter selects by match, table, cookie under a mask and output only.
  for (const [key, name] of filterRefusals) {
    if (parsed[key] !== undefined) {
      syntaxError(flow, `a flow filter takes no ${name}; ${filterSelects}`);
    }
  }
  if (parsed.flags.length > 0) {
    syntaxError(flow, `a flow filter takes no flags such as ${parsed.flags[0]}; ${filterSelects}`);
  }
  if (parsed.cookie !== undefined && parsed.cookieMask === undefined) {
    syntaxError(
      flow,
      `a flow filter matches a cookie under a mask: give cookie=0x${parsed.cookie.toString(16)}/-1 to match it exactly`,
    );
  }
  const request: FlowStatsRequest = { match: parsed.match };
  if (parsed.tableId !== undefined) {
    request.tableId = parsed.tableId;
  }
  if (parsed.outPort !== undefined) {
    request.outPort = parsed.outPort;
  }
  if (parsed.outGroup !== undefined) {
    request.outGroup = parsed.outGroup;
  }
  if (parsed.cookie !== undefined) {
    request.cookie = parsed.cookie;
    request.cookieMask = parsed.cookieMask!;
  }
  return request;
}
