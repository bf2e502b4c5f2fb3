// Native forwarding engines: testpmd-style loops (io, mac, macswap, rxonly, txonly, l2fwd
// and a generator mode) launched on EAL worker lcores, controlled and observed from JS.
#pragma once

#include <napi.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "packet_filter.h"

namespace dpdkts {

enum class EngineMode { kIo, kMac, kMacSwap, kRxOnly, kTxOnly, kL2fwd, kGenerator };

constexpr uint16_t kMaxBurst = 512;

// Counters one lcore writes and any thread reads (relaxed; each has a single writer).
struct StreamCounters {
  std::atomic<uint64_t> rx{0};
  std::atomic<uint64_t> tx{0};
  std::atomic<uint64_t> dropped{0};
  // Generating modes: packets a full tx queue refused on their first try, kept and retried
  // (backpressure, not loss); each counts once however many tries it takes.
  std::atomic<uint64_t> txBlocked{0};
  // Rate-limited generating streams: packets given up rather than sent late, after the stream
  // fell behind its schedule by more than one burst or 1 ms (see Engine::Generate).
  std::atomic<uint64_t> txSkipped{0};
  // With a filter: packets it dropped.
  std::atomic<uint64_t> filtered{0};
  // Written after the sample's other counters and its raw value, with release: a reader
  // that loads it with acquire sees at least that many samples everywhere.
  std::atomic<uint64_t> latencySamples{0};
  std::atomic<uint64_t> latencySumCycles{0};
  std::atomic<uint64_t> latencyMinCycles{UINT64_MAX};
  std::atomic<uint64_t> latencyMaxCycles{0};
  // Log-linear histogram of latency in cycles: 8 sub-buckets per power of two.
  static constexpr int kBuckets = 64 * 8;
  std::atomic<uint64_t> latencyHistogram[kBuckets] = {};
  // The first samples as measured, for exact percentiles while there are few: a
  // histogram's buckets are 1/8 of a power of two wide, too coarse for 100 samples.
  static constexpr uint32_t kKeptSamples = 4096;
  std::atomic<uint64_t> latencyKept[kKeptSamples] = {};
};

struct Stream {
  uint16_t rxPort, rxQueue, txPort, txQueue;
  rte_ether_addr txSource;       // the tx port's MAC (mac, l2fwd)
  rte_ether_addr txDestination;  // peer MAC (mac, l2fwd)
  uint64_t txLimit = 0;          // packets to send (txonly, generator); 0: no limit
  double ratePps = 0;            // 0: as fast as possible
  // tx when the loop started: the rate allows packets for the time since the loop started,
  // so a restarted stream's earlier packets must not count against it.
  uint64_t txAtRunStart = 0;
  // Packets this run gave up (see txSkipped): they count against the rate as if sent.
  uint64_t skippedThisRun = 0;
  bool send = true;  // generator: false makes the stream receive only
  // Packets this stream sends in turn (txonly, generator); the engine's template if empty.
  std::vector<std::vector<uint8_t>> templates;
  StreamCounters counters;
  // Generating modes: built packets not yet sent, held[heldStart .. heldStart+heldCount),
  // sent before any new one; only the lcore's loop touches them (and frees them when it ends).
  rte_mbuf* held[kMaxBurst];
  uint16_t heldStart = 0;
  uint16_t heldCount = 0;
};

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine();

  static void StopAll();

 private:
  friend class Telemetry;

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Counts(const Napi::CallbackInfo& info);
  Napi::Value FilterStats(const Napi::CallbackInfo& info);
  Napi::Value ResetStats(const Napi::CallbackInfo& info);
  Napi::Value IsRunning(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);

  static int Main(void* self);
  static std::vector<Engine*> Running();
  void ReleasePorts();
  void Run();
  void StopLoop();
  // Each returns how many packets it moved (sent or received).
  uint32_t Forward(Stream& s, rte_mbuf** pkts);
  uint32_t Generate(Stream& s, uint64_t now, uint64_t start);
  uint32_t Drain(Stream& s, rte_mbuf** pkts);
  // Applies the filter to pkts[0..n): keeps the packets it passes at the front, frees the
  // others, and returns how many it kept.
  uint16_t Filter(Stream& s, rte_mbuf** pkts, uint16_t n);

  EngineMode mode_;
  unsigned int lcore_;
  uint16_t burst_;
  std::vector<std::unique_ptr<Stream>> streams_;
  rte_mempool* pool_ = nullptr;
  int32_t timestampOffset_ = -1;  // where txonly/generator write, and rx reads, timestamps
  bool yieldWhenIdle_ = false;
  bool yieldEachPass_ = false;
  std::unique_ptr<PacketFilter> filter_;  // none: every packet passes
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> finished_{false};  // the loop ended by itself (every tx limit reached)
  std::vector<uint16_t> acquired_;     // ports this engine marked busy while it runs
  bool closed_ = false;
  uint32_t id_ = 0;  // telemetry's name for it (/dpdk_ts/engine,ID), unique in the process
};

}  // namespace dpdkts
