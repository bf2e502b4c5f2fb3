/**
 * The OpenFlow 1.3 client of a switch ({@link OpenFlowClient}): its request methods, sent on
 * the connection of connection.ts (targets, handshake, keepalives, replies matched to requests).
 */
import { DpdkError } from '../../errors.js';
import { checkBoolean, checkOptions } from '../../validate.js';
import { OFPP } from './actions.js';
import { OFPT, type OpenFlowErrorInfo, type SwitchFeatures } from './codec.js';
import { OpenFlowConnection } from './connection.js';
import { checkBundleReply, encodeBundleAdd, encodeBundleControl, OFPBCT, OFPT_EXPERIMENTER } from './bundle.js';
import { encodeFlowMod, type FlowMod } from './flow-mod.js';
import {
  addFlows,
  deleteFlows,
  diffFlows,
  type AddFlowsOptions,
  dumpFlows,
  modifyFlows,
  replaceFlows,
  type ReplaceFlowsOptions,
  type ReplaceFlowsResult,
  type DumpFlowsOptions,
  type FlowDump,
  type FlowEditOptions,
} from './flow-table.js';
import {
  decodeFlowStatsEntries,
  decodePortDescEntries,
  decodePortStatsEntries,
  encodeFlowStatsRequestBody,
  encodeMultipartRequest,
  encodePortStatsRequestBody,
  OFPMP,
  type FlowStats,
  type FlowStatsRequest,
  type PortDescription,
  type PortStats,
} from './multipart.js';
import { openflowError, type CheckedCall, type ExpectOptions } from './replies.js';
import {
  decodeTlvTableReply,
  encodeTlvTableMod,
  encodeTlvTableRequest,
  type TlvMapping,
  type TlvTable,
  type TlvTableCommand,
} from './tlv-table.js';
import {
  callOptionKeys,
  type CallOptions,
  type FlowModsOptions,
  type OpenFlowClientOptions,
  openflowErrorOf,
} from './client-options.js';

/**
 * An OpenFlow 1.3 connection to a switch, e.g. OVS's `RUNDIR/BRIDGE.mgmt` socket.
 * Replies are matched to requests by xid; the switch's echo requests are answered.
 * Every failure is a `DpdkError`: `ERR_OPENFLOW` (the switch's OFPT_ERROR, type and
 * code decoded), `ERR_OPENFLOW_VERSION`, `ETIMEDOUT`, `ECANCELED`, `ECONNRESET`,
 * `EPROTO` (malformed input from the switch), `EINVAL`, `ERR_CLOSED`, `EMSGSIZE`.
 * `ERR_OPENFLOW` errors carry the decoded error as `openflowError` ({@link OpenFlowErrorInfo});
 * those of {@link OpenFlowClient.flowMods} also `flowModIndex`.
 */
export class OpenFlowClient {
  /** The target as given to {@link OpenFlowClient.connect}. */
  readonly target: string;
  readonly #connection: OpenFlowConnection;

  // TypeScript's `private` here (a constructor cannot be #private): use connect().
  private constructor(connection: OpenFlowConnection) {
    this.target = connection.target;
    this.#connection = connection;
  }

  /**
   * Connects, negotiates OpenFlow 1.3 (HELLO with a version bitmap) and reads the
   * switch's features. Fails with `ERR_OPENFLOW_VERSION` when the switch does not offer
   * OpenFlow 1.3 (for OVS: the bridge's `protocols` exclude `OpenFlow13`).
   */
  static async connect(target: string, options: OpenFlowClientOptions = {}): Promise<OpenFlowClient> {
    return new OpenFlowClient(await OpenFlowConnection.open(target, options));
  }

  /** The switch's FEATURES_REPLY, read while connecting. */
  get features(): SwitchFeatures {
    return this.#connection.features;
  }

  /** True once the connection is closed, by {@link close} or by the switch. */
  get closed(): boolean {
    return this.#connection.closed;
  }

  /**
   * Resolves, once the connection is closed (by {@link close}, the switch, a failed
   * keepalive or a protocol error), with the error that closed it: what a controller
   * watches to reconnect.
   */
  whenClosed(): Promise<DpdkError> {
    return this.#connection.whenClosed();
  }

  /** Sends an echo request and resolves with the echoed payload: a liveness check. */
  echo(payload: Buffer = Buffer.alloc(0), options: CallOptions = {}): Promise<Buffer> {
    return this.#connection.echo(payload, options);
  }

  /** Sends a barrier request: resolves once the switch has processed every earlier message. */
  async barrier(options: CallOptions = {}): Promise<void> {
    await this.#connection.barrier(this.#connection.begin('barrier', options));
  }

  /**
   * Sends one flow mod followed by a barrier, and resolves once the switch applied it;
   * rejects with `ERR_OPENFLOW` when the switch refused it.
   */
  async flowMod(flowMod: FlowMod, options: CallOptions = {}): Promise<void> {
    await this.flowMods([flowMod], options);
  }

  /**
   * Sends flow mods in order and confirms them with a barrier. With `atomic`, they go in a
   * bundle (ONF extension 230, as `ovs-ofctl --bundle`) committed all or nothing; else
   * each is confirmed before the next is sent and they stop at the first refused (as
   * `ovs-ofctl` sends them): those before it stay applied, none after it is sent. Rejects with the first `ERR_OPENFLOW` the
   * switch returned (its message names the flow mod's index), `ENOTSUP` when `atomic` and
   * the switch has no bundles. Invalid input is rejected (`EINVAL`) before anything is sent.
   */
  async flowMods(flowMods: readonly FlowMod[], options: FlowModsOptions = {}): Promise<void> {
    const operation = 'flowMods';
    checkOptions<FlowModsOptions>(operation, options, [...callOptionKeys, 'atomic']);
    const { atomic, ...callOptions } = options;
    const call = this.#connection.begin(operation, callOptions);
    const bundled = checkBoolean(operation, 'atomic', atomic ?? false);
    const xids = flowMods.map(() => this.#connection.replies.reserveXid());
    const messages = flowMods.map((flowMod, index) => encodeFlowMod(xids[index]!, flowMod));
    const bundleId = xids[0] ?? 0;
    let firstError: DpdkError | undefined;
    xids.forEach((xid, index) => {
      this.#connection.replies.setErrorSink(xid, (info) => {
        firstError ??= Object.assign(openflowError(this.target, `flow mod ${index + 1} of ${flowMods.length}`, info), {
          flowModIndex: index,
        });
      });
    });
    try {
      if (bundled) {
        await this.#bundleControl(bundleId, OFPBCT.OPEN_REQUEST, call);
        // A bundled flow mod and its bundle add share the xid, so either's error names the flow.
        messages.forEach((message, index) => this.#connection.write(encodeBundleAdd(xids[index]!, bundleId, message)));
        await this.#connection.barrier(call);
      } else {
        // Each flow mod confirmed before the next, stopping at the first refused, as
        // ovs-ofctl sends them: what follows a refused flow mod is never applied.
        for (const message of messages) {
          this.#connection.write(message);
          await this.#connection.barrier(call);
          if (firstError) break;
        }
      }
      if (bundled) {
        if (firstError) await this.#bundleControl(bundleId, OFPBCT.DISCARD_REQUEST, call);
        else
          await this.#bundleControl(bundleId, OFPBCT.COMMIT_REQUEST, call).catch((error: unknown) => {
            // The switch reports the flow mod that failed the commit before the commit itself.
            if (!firstError) throw error;
          });
      }
    } finally {
      for (const xid of xids) {
        this.#connection.replies.deleteErrorSink(xid);
      }
    }
    if (firstError) {
      throw firstError;
    }
  }

  /** Sends a bundle control request and checks the switch's reply (`ENOTSUP` when it has no bundles). */
  async #bundleControl(bundleId: number, type: number, call: CheckedCall): Promise<void> {
    const message = encodeBundleControl(this.#connection.replies.reserveXid(), bundleId, type);
    const [body] = await this.#connection
      .request('bundle', message, OFPT_EXPERIMENTER, call)
      .catch((error: unknown) => {
        const info = openflowErrorOf(error);
        if (type !== OFPBCT.OPEN_REQUEST || info?.typeName !== 'OFPET_BAD_REQUEST') throw error;
        throw new DpdkError(
          `${this.target} does not support OpenFlow bundles on OpenFlow 1.3 (${info.codeName}); send the flow mods without atomic`,
          { code: 'ENOTSUP', operation: 'flowMods', object: this.target, cause: error },
        );
      });
    checkBundleReply(body!, bundleId, type + 1, this.target);
  }

  async #multipart(
    operation: string,
    multipartType: number,
    requestBody: Buffer,
    options: CallOptions,
    expect: ExpectOptions = {},
  ): Promise<Buffer[]> {
    const call = this.#connection.begin(operation, options);
    return this.#connection.request(
      operation,
      encodeMultipartRequest(this.#connection.replies.reserveXid(), multipartType, requestBody),
      OFPT.MULTIPART_REPLY,
      call,
      expect,
    );
  }

  /**
   * Changes the switch's TLV table (`ovs-ofctl add-tlv-map` / `del-tlv-map`): `add` maps
   * tunnel options to `tun_metadataN` fields, `delete` removes the mappings of the given
   * fields, `clear` removes all; confirmed by a barrier. Rejects with `ERR_OPENFLOW` when the
   * switch refuses (`NXTTMFC_ALREADY_MAPPED`, `NXTTMFC_DUP_ENTRY`, `NXTTMFC_BAD_OPT_LEN`, ...).
   */
  async tlvTableMod(
    command: TlvTableCommand,
    mappings: readonly TlvMapping[] = [],
    options: CallOptions = {},
  ): Promise<void> {
    const call = this.#connection.begin('tlvTableMod', options);
    const xid = this.#connection.replies.reserveXid();
    let refused: DpdkError | undefined;
    this.#connection.replies.setErrorSink(xid, (info) => {
      refused ??= openflowError(this.target, 'tlvTableMod', info);
    });
    try {
      this.#connection.write(encodeTlvTableMod(xid, command, mappings));
      await this.#connection.barrier(call);
    } finally {
      this.#connection.replies.deleteErrorSink(xid);
    }
    if (refused) {
      throw refused;
    }
  }

  /** Reads the switch's TLV table (`ovs-ofctl dump-tlv-map`): its limits and mappings. */
  async tlvTable(options: CallOptions = {}): Promise<TlvTable> {
    const call = this.#connection.begin('tlvTable', options);
    const [body] = await this.#connection.request(
      'tlvTable',
      encodeTlvTableRequest(this.#connection.replies.reserveXid()),
      OFPT_EXPERIMENTER,
      call,
    );
    return decodeTlvTableReply(body!, this.target);
  }

  /** Reads flows (OFPMP_FLOW), reassembling multi-part replies. */
  async flowStats(request: FlowStatsRequest = {}, options: CallOptions = {}): Promise<FlowStats[]> {
    const parts = await this.#multipart('flowStats', OFPMP.FLOW, encodeFlowStatsRequestBody(request), options);
    return parts.flatMap(decodeFlowStatsEntries);
  }

  /**
   * Reads flows (OFPMP_FLOW) as {@link flowStats} does, but resolves with the reply messages
   * as the switch sent them (header included), one per part: for what must show their bytes,
   * as `ovs-ofctl dump-flows` does for a flow it cannot decode.
   */
  flowStatsReplies(request: FlowStatsRequest = {}, options: CallOptions = {}): Promise<Buffer[]> {
    return this.#multipart('flowStats', OFPMP.FLOW, encodeFlowStatsRequestBody(request), options, { whole: true });
  }

  /** Reads port counters (OFPMP_PORT_STATS) of one port, or of all (default `OFPP.ANY`). */
  async portStats(portNo: number = OFPP.ANY, options: CallOptions = {}): Promise<PortStats[]> {
    const parts = await this.#multipart('portStats', OFPMP.PORT_STATS, encodePortStatsRequestBody(portNo), options);
    return parts.flatMap(decodePortStatsEntries);
  }

  /** Reads every port's description (OFPMP_PORT_DESC): numbers, names, addresses, state. */
  async portDescriptions(options: CallOptions = {}): Promise<PortDescription[]> {
    const parts = await this.#multipart('portDescriptions', OFPMP.PORT_DESC, Buffer.alloc(0), options);
    return parts.flatMap(decodePortDescEntries);
  }

  /**
   * Adds flows written as `ovs-ofctl add-flow` takes them (`in_port=p1,ip,actions=output:p2`).
   * Port names resolve through the switch's port descriptions (read once per call); every
   * flow is parsed before any is sent; then they are installed all or none, in a bundle
   * (unless `atomic: false`: in order, the accepted ones staying), confirmed by a barrier.
   * @throws DpdkError `EINVAL` for a flow that does not parse (an unknown port lists the
   * bridge's ports; nothing was sent), `ERR_OPENFLOW` for a flow the switch refused, with its
   * reason; both name the flow and carry `flowIndex` and `flow` (`FlowErrorDetails`);
   * `ENOTSUP` when the switch has no bundles.
   */
  addFlows(flows: string | readonly string[], options: AddFlowsOptions = {}): Promise<void> {
    return addFlows(this, flows, options);
  }

  /** Modifies the actions of the flows `flow` matches (`ovs-ofctl mod-flows`); errors as {@link addFlows}. */
  modifyFlows(flow: string, options: FlowEditOptions = {}): Promise<void> {
    return modifyFlows(this, flow, options);
  }

  /** Deletes the flows `flow` matches, or every flow without one (`ovs-ofctl del-flows`); errors as {@link addFlows}. */
  deleteFlows(flow?: string, options: FlowEditOptions = {}): Promise<void> {
    return deleteFlows(this, flow, options);
  }

  /**
   * Reads the flows (all, or those `filter` matches, in `dump-flows` syntax with port names)
   * and formats them as `ovs-ofctl -O OpenFlow13 --names dump-flows` prints them.
   */
  dumpFlows(filter?: string, options: DumpFlowsOptions = {}): Promise<FlowDump> {
    return dumpFlows(this, filter, options);
  }

  /**
   * Makes the switch's flows (all tables) the given ones, as `ovs-ofctl replace-flows` does:
   * flows are the same when their table, match and priority are; a strict delete for each
   * flow the switch has and `flows` lacks, then an add for each flow it lacks or has with
   * other actions, cookie or timeouts (an add replaces it); flows it has as given are left
   * alone, counters included. An empty array deletes every flow. Sent in a bundle, all or
   * none, unless `atomic: false`. Errors as {@link addFlows}.
   */
  replaceFlows(flows: string | readonly string[], options: ReplaceFlowsOptions = {}): Promise<ReplaceFlowsResult> {
    return replaceFlows(this, flows, options);
  }

  /**
   * Compares the switch's flows (`-`) with the given ones (`+`) and returns the lines
   * `ovs-ofctl diff-flows SWITCH FILE` prints (empty when they are the same); see
   * `diffFlowTables` for the line format and order. Errors as {@link addFlows}.
   */
  diffFlows(flows: string | readonly string[], options: CallOptions = {}): Promise<string[]> {
    return diffFlows(this, flows, options);
  }

  /** Closes the connection; outstanding and later calls fail with `ERR_CLOSED`. Idempotent. */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
