/**
 * The OpenFlow 1.3 connection to a switch ({@link OpenFlowClient}): targets, the HELLO and
 * FEATURES handshake, keepalives and the request methods (the requests awaiting replies are
 * kept in replies.ts).
 */
import type { Socket } from 'node:net';
import { DpdkError, errnoOf } from '../../errors.js';
import { openStream } from '../stream.js';
import { checkBoolean, checkInteger, checkOptions, checkTimeout } from '../../validate.js';
import { OFPP } from './actions.js';
import {
  decodeErrorMessage,
  decodeFeaturesReply,
  encodeHello,
  encodeMessage,
  FrameDecoder,
  helloVersions,
  OFP13_VERSION,
  OFPT,
  type OpenFlowErrorInfo,
  type OpenFlowMessage,
  type SwitchFeatures,
} from './codec.js';
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
import { helloError, versionError } from './handshake.js';
import { abortedError, openflowError, PendingReplies, withDeadline, type CheckedCall } from './replies.js';
import { parseTarget } from './target.js';
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
  clientOptionKeys,
  type CallOptions,
  type FlowModsOptions,
  type OpenFlowClientOptions,
  openflowErrorOf,
} from './client-options.js';

const defaultTimeoutMs = 10_000;
const defaultMaxReplyBytes = 64 * 1024 * 1024;

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
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #replies: PendingReplies;
  readonly #timeoutMs: number;
  // The socket's event once it can carry OpenFlow: `secureConnect` over TLS.
  readonly #readyEvent: 'connect' | 'secureConnect';
  #closedError: DpdkError | undefined;
  #onClosed: ((error: DpdkError) => void) | undefined;
  readonly #closedPromise = new Promise<DpdkError>((resolve) => (this.#onClosed = resolve));
  #switchFeatures: SwitchFeatures | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  /** Whether anything arrived from the switch since the last keepalive tick. */
  #heardFromSwitch = false;
  #helloWaiter: { resolve(message: OpenFlowMessage): void; reject(error: DpdkError): void } | undefined;

  // TypeScript's `private` here (a constructor cannot be #private): use connect().
  private constructor(
    target: string,
    socket: Socket,
    timeoutMs: number,
    maxReplyBytes: number,
    readyEvent: 'connect' | 'secureConnect',
  ) {
    this.target = target;
    this.#socket = socket;
    this.#readyEvent = readyEvent;
    this.#timeoutMs = timeoutMs;
    this.#replies = new PendingReplies(target, maxReplyBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code && errnoOf(error.code) !== undefined ? error.code : 'ECONNRESET';
      this.#shutdown(
        new DpdkError(`connection to ${target} failed: ${error.message}`, {
          code,
          operation: 'OpenFlowClient',
          object: target,
          cause: error,
        }),
      );
    });
    socket.on('close', () => {
      this.#shutdown(
        new DpdkError(`connection to ${target} was closed by the switch`, {
          code: 'ECONNRESET',
          operation: 'OpenFlowClient',
          object: target,
        }),
      );
    });
  }

  /**
   * Connects, negotiates OpenFlow 1.3 (HELLO with a version bitmap) and reads the
   * switch's features. Fails with `ERR_OPENFLOW_VERSION` when the switch does not offer
   * OpenFlow 1.3 (for OVS: the bridge's `protocols` exclude `OpenFlow13`).
   */
  static async connect(target: string, options: OpenFlowClientOptions = {}): Promise<OpenFlowClient> {
    const operation = 'OpenFlowClient.connect';
    checkOptions<OpenFlowClientOptions>(operation, options, clientOptionKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? defaultTimeoutMs;
    const maxReplyBytes = checkInteger(
      operation,
      'maxReplyBytes',
      options.maxReplyBytes ?? defaultMaxReplyBytes,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    const keepaliveMs = checkTimeout(operation, options.keepaliveMs, 'keepaliveMs');
    const parsed = parseTarget(target);
    if (options.signal?.aborted) {
      throw abortedError(operation, target, options.signal);
    }
    const { socket, readyEvent } = openStream(operation, target, parsed, options.tls);
    const client = new OpenFlowClient(target, socket, timeoutMs, maxReplyBytes, readyEvent);
    try {
      await withDeadline(
        operation,
        target,
        { timeoutMs, signal: options.signal },
        () => client.#handshake(),
        () => socket.destroy(),
      );
    } catch (error) {
      client.#shutdown(error as DpdkError);
      socket.destroy();
      throw error;
    }
    if (keepaliveMs !== undefined) {
      client.#startKeepalive(keepaliveMs);
    }
    return client;
  }

  #startKeepalive(intervalMs: number): void {
    this.#keepaliveTimer = setInterval(() => {
      if (this.#heardFromSwitch) {
        this.#heardFromSwitch = false;
        return;
      }
      this.echo().catch((error: DpdkError) => {
        if (error.code === 'ETIMEDOUT') {
          this.#shutdown(
            new DpdkError(`${this.target} did not answer a keepalive echo within ${this.#timeoutMs} ms`, {
              code: 'ETIMEDOUT',
              operation: 'keepalive',
              object: this.target,
            }),
          );
          this.#socket.destroy();
        }
      });
    }, intervalMs);
    // A keepalive alone must not keep the process running.
    this.#keepaliveTimer.unref();
  }

  /** The switch's FEATURES_REPLY, read while connecting. */
  get features(): SwitchFeatures {
    return this.#switchFeatures!;
  }

  /** True once the connection is closed, by {@link close} or by the switch. */
  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /**
   * Resolves, once the connection is closed (by {@link close}, the switch, a failed
   * keepalive or a protocol error), with the error that closed it: what a controller
   * watches to reconnect.
   */
  whenClosed(): Promise<DpdkError> {
    return this.#closedPromise;
  }

  async #handshake(): Promise<void> {
    const hello = new Promise<OpenFlowMessage>((resolve, reject) => {
      this.#helloWaiter = { resolve, reject };
    });
    // Awaited only after the connect: keep an early rejection from counting as unhandled.
    hello.catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      this.#socket.once(this.#readyEvent, resolve);
      this.#socket.once('error', reject);
    }).catch((error: NodeJS.ErrnoException) => {
      // A refused TLS handshake keeps its own code (CERT_HAS_EXPIRED, ...): it says why.
      const tlsRefusal =
        this.#readyEvent === 'secureConnect' && error.code !== undefined && errnoOf(error.code) === undefined;
      const code = error.code && (errnoOf(error.code) !== undefined || tlsRefusal) ? error.code : 'ECONNREFUSED';
      throw new DpdkError(`cannot connect to ${this.target}: ${error.message}`, {
        code,
        operation: 'OpenFlowClient.connect',
        object: this.target,
        cause: error,
      });
    });
    this.#socket.write(encodeHello(this.#replies.allocateXid()));
    const switchHello = await hello;
    const versions = helloVersions(switchHello);
    if (!versions.includes(OFP13_VERSION)) {
      throw versionError(this.target, versions);
    }
    this.#checkOpen('features');
    const call = { timeoutMs: this.#timeoutMs, signal: undefined };
    const [reply] = await this.#request(
      'features',
      encodeMessage(OFPT.FEATURES_REQUEST, this.#replies.reserveXid()),
      OFPT.FEATURES_REPLY,
      call,
    );
    this.#switchFeatures = decodeFeaturesReply(reply!);
  }

  #onData(chunk: Buffer): void {
    this.#heardFromSwitch = true;
    let messages: OpenFlowMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#failProtocol((error as Error).message);
      return;
    }
    for (const message of messages) {
      if (this.#closedError) {
        return;
      }
      this.#onMessage(message);
    }
  }

  #failProtocol(message: string): void {
    this.#shutdown(
      new DpdkError(`protocol error from ${this.target}: ${message}`, {
        code: 'EPROTO',
        operation: 'OpenFlowClient',
        object: this.target,
      }),
    );
    this.#socket.destroy();
  }

  #onMessage(message: OpenFlowMessage): void {
    const waiter = this.#helloWaiter;
    if (waiter) {
      // The switch's first message must be its HELLO (or an error refusing ours).
      this.#helloWaiter = undefined;
      if (message.type === OFPT.HELLO) {
        waiter.resolve(message);
      } else if (message.type === OFPT.ERROR) {
        waiter.reject(helloError(this.target, message));
      } else {
        waiter.reject(
          new DpdkError(`${this.target} sent message type ${message.type} before HELLO`, {
            code: 'EPROTO',
            operation: 'OpenFlowClient.connect',
            object: this.target,
          }),
        );
      }
      return;
    }
    if (message.version !== OFP13_VERSION) {
      if (message.type === OFPT.ERROR) {
        this.#shutdown(helloError(this.target, message));
        this.#socket.destroy();
        return;
      }
      this.#failProtocol(
        `message type ${message.type} has version ${message.version}, but OpenFlow 1.3 (4) was negotiated`,
      );
      return;
    }
    switch (message.type) {
      case OFPT.ECHO_REQUEST:
        this.#socket.write(encodeMessage(OFPT.ECHO_REPLY, message.xid, message.body));
        return;
      case OFPT.ERROR:
        this.#onError(message);
        return;
      default:
        this.#replies.onReply(message);
    }
  }

  #onError(message: OpenFlowMessage): void {
    let info: OpenFlowErrorInfo;
    try {
      info = decodeErrorMessage(message.body);
    } catch (error) {
      this.#failProtocol((error as Error).message);
      return;
    }
    this.#replies.onError(message.xid, info);
  }

  /** Rejects everything outstanding with `error` and marks the client closed. */
  #shutdown(error: DpdkError): void {
    if (this.#closedError) {
      return;
    }
    this.#closedError = error;
    this.#onClosed!(error);
    clearInterval(this.#keepaliveTimer);
    this.#helloWaiter?.reject(error);
    this.#helloWaiter = undefined;
    this.#replies.rejectAll(error);
  }

  #checkOpen(operation: string): void {
    if (this.#closedError) {
      throw new DpdkError(`the connection to ${this.target} is closed (${this.#closedError.message})`, {
        code: 'ERR_CLOSED',
        operation,
        object: this.target,
        cause: this.#closedError,
      });
    }
  }

  /**
   * Starts a public call: fails with `ERR_CLOSED` on a closed connection, and checks the
   * call options once, before anything is sent: unknown keys and bad timeouts are
   * `EINVAL`, an already-aborted signal `ECANCELED`.
   */
  #begin(operation: string, options: CallOptions): CheckedCall {
    this.#checkOpen(operation);
    checkOptions<CallOptions>(operation, options, callOptionKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? this.#timeoutMs;
    if (options.signal?.aborted) {
      throw abortedError(operation, this.target, options.signal);
    }
    return { timeoutMs, signal: options.signal };
  }

  /** Sends `message` and resolves with the body of the reply to its xid, or the bodies of every multipart part. */
  #request(operation: string, message: Buffer, replyType: number, call: CheckedCall): Promise<Buffer[]> {
    const xid = message.readUInt32BE(4);
    const reply = this.#replies.expect(xid, operation, replyType);
    this.#socket.write(message);
    return withDeadline(
      operation,
      this.target,
      call,
      () => reply,
      () => this.#replies.forget(xid),
    );
  }

  /** Sends an echo request and resolves with the echoed payload: a liveness check. */
  async echo(payload: Buffer = Buffer.alloc(0), options: CallOptions = {}): Promise<Buffer> {
    const call = this.#begin('echo', options);
    const [body] = await this.#request(
      'echo',
      encodeMessage(OFPT.ECHO_REQUEST, this.#replies.reserveXid(), payload),
      OFPT.ECHO_REPLY,
      call,
    );
    return body!;
  }

  /** Sends a barrier request: resolves once the switch has processed every earlier message. */
  async barrier(options: CallOptions = {}): Promise<void> {
    await this.#barrier(this.#begin('barrier', options));
  }

  #barrier(call: CheckedCall): Promise<Buffer[]> {
    return this.#request(
      'barrier',
      encodeMessage(OFPT.BARRIER_REQUEST, this.#replies.reserveXid()),
      OFPT.BARRIER_REPLY,
      call,
    );
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
    const call = this.#begin(operation, callOptions);
    const bundled = checkBoolean(operation, 'atomic', atomic ?? false);
    const xids = flowMods.map(() => this.#replies.reserveXid());
    const messages = flowMods.map((flowMod, index) => encodeFlowMod(xids[index]!, flowMod));
    const bundleId = xids[0] ?? 0;
    let firstError: DpdkError | undefined;
    xids.forEach((xid, index) => {
      this.#replies.setErrorSink(xid, (info) => {
        firstError ??= Object.assign(openflowError(this.target, `flow mod ${index + 1} of ${flowMods.length}`, info), {
          flowModIndex: index,
        });
      });
    });
    try {
      if (bundled) {
        await this.#bundleControl(bundleId, OFPBCT.OPEN_REQUEST, call);
        // A bundled flow mod and its bundle add share the xid, so either's error names the flow.
        messages.forEach((message, index) => this.#socket.write(encodeBundleAdd(xids[index]!, bundleId, message)));
        await this.#barrier(call);
      } else {
        // Each flow mod confirmed before the next, stopping at the first refused, as
        // ovs-ofctl sends them: what follows a refused flow mod is never applied.
        for (const message of messages) {
          this.#socket.write(message);
          await this.#barrier(call);
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
        this.#replies.deleteErrorSink(xid);
      }
    }
    if (firstError) {
      throw firstError;
    }
  }

  /** Sends a bundle control request and checks the switch's reply (`ENOTSUP` when it has no bundles). */
  async #bundleControl(bundleId: number, type: number, call: CheckedCall): Promise<void> {
    const message = encodeBundleControl(this.#replies.reserveXid(), bundleId, type);
    const [body] = await this.#request('bundle', message, OFPT_EXPERIMENTER, call).catch((error: unknown) => {
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
  ): Promise<Buffer[]> {
    const call = this.#begin(operation, options);
    return this.#request(
      operation,
      encodeMultipartRequest(this.#replies.reserveXid(), multipartType, requestBody),
      OFPT.MULTIPART_REPLY,
      call,
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
    const call = this.#begin('tlvTableMod', options);
    const xid = this.#replies.reserveXid();
    let refused: DpdkError | undefined;
    this.#replies.setErrorSink(xid, (info) => {
      refused ??= openflowError(this.target, 'tlvTableMod', info);
    });
    try {
      this.#socket.write(encodeTlvTableMod(xid, command, mappings));
      await this.#barrier(call);
    } finally {
      this.#replies.deleteErrorSink(xid);
    }
    if (refused) {
      throw refused;
    }
  }

  /** Reads the switch's TLV table (`ovs-ofctl dump-tlv-map`): its limits and mappings. */
  async tlvTable(options: CallOptions = {}): Promise<TlvTable> {
    const call = this.#begin('tlvTable', options);
    const [body] = await this.#request(
      'tlvTable',
      encodeTlvTableRequest(this.#replies.reserveXid()),
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
  async close(): Promise<void> {
    this.#shutdown(
      new DpdkError(`the connection to ${this.target} was closed by the client`, {
        code: 'ERR_CLOSED',
        operation: 'close',
        object: this.target,
      }),
    );
    if (this.#socket.destroyed) {
      return;
    }
    await new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }
}
