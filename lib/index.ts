// The public types name Buffer, NodeJS.* and node: modules; TypeScript >= 6 no longer loads
// @types/node by itself (`types` defaults to []), so the .d.ts asks for it (a dependency).
/// <reference types="node" preserve="true" />
/**
 * The dpdk-ts SDK's public API: DPDK (EAL, mempools, ports, engines, lcore workers, forwarders), packets, throughput search, Prometheus metrics, OVS.
 * @module dpdk-ts
 */
export { DpdkError, type DpdkErrorDetails } from './errors.js';
export {
  Eal,
  ealArgs,
  defaultEalFlags,
  type DefaultEalFlags,
  type EalOptions,
  type EalLogOptions,
  type EalServerWaitOptions,
  type EalInfo,
  type LcoreInfo,
  type LogLevel,
} from './eal.js';
export {
  splitCommandLine,
  prepareEalArgs,
  parseCoremask,
  parseCorelist,
  type SplitCommandLine,
  type PreparedEalArgs,
  type MachineFacts,
} from './eal-args.js';
export { hugepages, freeHugepageMb, numaNodes, onlineCpus, maxCpuId, type HugepageInfo } from './host.js';
export { Mempool, type MempoolOptions, type MempoolStats } from './mempool.js';
export { Batch, PacketHandle } from './batch.js';
export {
  Port,
  type PortInfo,
  type PortConfig,
  type PortStats,
  type QueueStats,
  type LinkStatus,
  type WaitForLinkOptions,
  type PortEvents,
} from './port.js';
export { Capture, maxSnapLength, type CaptureDirection, type CaptureOptions, type CaptureStats } from './capture.js';
export {
  VirtioUser,
  Vhost,
  RingPort,
  NullPort,
  type VirtioUserOptions,
  type VirtioUserServerOptions,
  type VhostOptions,
  type RingPortOptions,
  type NullPortOptions,
} from './vdev.js';
export type { PeerWaitOptions } from './peer-wait.js';
export type { SetupFailure, SetupRetry, SetupRetryOptions } from './vhost-retry.js';
export {
  Engine,
  forwardModes,
  type ForwardMode,
  type EngineOptions,
  type EngineStream,
  type EngineStreamStats,
  type LatencyStats,
} from './engine.js';
export type { PercentileName } from './latency.js';
export {
  maxFilterRules,
  type EngineFilter,
  type EngineFilterRule,
  type FilterAction,
  type FilterCounter,
  type FilterStats,
} from './engine-filter.js';
export { LcoreWorker, LcoreContext, type LcoreWorkerOptions } from './lcore.js';
export {
  Forwarder,
  ForwarderLoop,
  type ForwarderOptions,
  type ForwarderCommonOptions,
  type NativeForwarderOptions,
  type LoopForwarderOptions,
  type ForwarderPortTotals,
  type ForwarderFailure,
  type ForwarderLoopStream,
} from './forwarder.js';
export {
  ForwardStep,
  type ForwardStepOptions,
  type ForwardStepCounterIndexes,
  type NamedCounters,
  type PacketVerdict,
} from './forward-step.js';
export {
  DpdkMetrics,
  latencyBucketsSeconds,
  serveMetrics,
  type DpdkMetricsOptions,
  type MetricsSource,
  type MetricsServer,
  type MetricsServerOptions,
} from './metrics/index.js';
export * from './packet.js';
export { macRewrite, setMacs, swapMacs, type MacRewrite } from './mac-rewrite.js';
export { GRE_PROTO_TEB, IP_PROTO_GRE, greInnerOffset } from './gre.js';
export * from './ovs/index.js';
export { PacketFilter, parseRule, type PacketRule } from './packet-filter.js';
export {
  searchThroughput,
  type TrialCounts,
  type TrialFunction,
  type ThroughputSearchOptions,
  type ThroughputTrial,
  type ThroughputSearchStop,
  type ThroughputSearchResult,
} from './throughput-search.js';
