// Engines: packet loops in C++ on EAL worker lcores. Where a JS loop pays one N-API call per
// burst and shares its thread with the event loop and the GC, an engine spins on a dedicated
// core, as testpmd does, and JS only starts, stops and reads counters. The loop reads no JS
// state: everything it needs is copied into the Engine and its Streams at creation.
#include "engine.h"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <sched.h>

#include <cstring>
#include <mutex>
#include <set>

#include "eal.h"
#include "errors.h"
#include "mempool.h"
#include "port_table.h"
#include "telemetry.h"

namespace dpdkts {

namespace {

std::mutex g_mutex;
std::set<Engine*> g_running;

constexpr uint32_t kTimestampMagic = 0x53544b50;  // "PKTS" little-endian

int HistogramBucket(uint64_t cycles) {
  if (cycles < 8) return static_cast<int>(cycles);
  int power = 63 - __builtin_clzll(cycles);
  int sub = static_cast<int>((cycles >> (power - 3)) & 7);
  return (power - 2) * 8 + sub;
}

uint64_t BucketLowerBound(int bucket) {
  if (bucket < 8) return bucket;
  int power = bucket / 8 + 2;
  int sub = bucket % 8;
  return (1ULL << power) + (static_cast<uint64_t>(sub) << (power - 3));
}

uint64_t BucketWidth(int bucket) { return bucket < 8 ? 1 : 1ULL << (bucket / 8 - 1); }

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

EngineMode ParseMode(Napi::Env env, const std::string& mode) {
  if (mode == "io") return EngineMode::kIo;
  if (mode == "mac") return EngineMode::kMac;
  if (mode == "macswap") return EngineMode::kMacSwap;
  if (mode == "rxonly") return EngineMode::kRxOnly;
  if (mode == "txonly") return EngineMode::kTxOnly;
  if (mode == "l2fwd") return EngineMode::kL2fwd;
  if (mode == "generator") return EngineMode::kGenerator;
  Throw(env, "EINVAL",
        "Unknown forward mode \"" + mode +
            "\": expected io, mac, macswap, rxonly, txonly, l2fwd or generator",
        "Engine.create");
}

uint16_t PortField(Napi::Env env, Napi::Object o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber() || v.As<Napi::Number>().Uint32Value() >= RTE_MAX_ETHPORTS) {
    Throw(
        env, "EINVAL",
        std::string("stream.") + key + " must be from 0 to " + std::to_string(RTE_MAX_ETHPORTS - 1),
        op);
  }
  return static_cast<uint16_t>(v.As<Napi::Number>().Uint32Value());
}

}  // namespace

void Engine::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Engine",
                                    {
                                        InstanceMethod("start", &Engine::Start),
                                        InstanceMethod("stop", &Engine::Stop),
                                        InstanceMethod("close", &Engine::Close),
                                        InstanceMethod("stats", &Engine::Stats),
                                        InstanceMethod("counts", &Engine::Counts),
                                        InstanceMethod("filterStats", &Engine::FilterStats),
                                        InstanceMethod("resetStats", &Engine::ResetStats),
                                        InstanceAccessor("running", &Engine::IsRunning, nullptr),
                                        InstanceAccessor("id", &Engine::GetId, nullptr),
                                    });
  exports.Set("Engine", ctor);
}

// new Engine({ lcore, mode, burst, streams: [{ rxPort, rxQueue, txPort, txQueue,
//   txDestination?, txLimit?, ratePps? }], mempool?, template?, timestampOffset?,
//   filter?: { table, defaultDrop } })
// The TypeScript facade validates the options; this re-checks what could crash.
Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  Napi::Env env = info.Env();
  const char* op = "Engine.create";
  Eal::Require(env, op);
  Napi::Object o = info[0].As<Napi::Object>();
  mode_ = ParseMode(env, o.Get("mode").ToString().Utf8Value());
  lcore_ = o.Get("lcore").ToNumber().Uint32Value();
  if (lcore_ >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore_) || lcore_ == rte_get_main_lcore()) {
    Throw(env, "EINVAL",
          "lcore " + std::to_string(lcore_) +
              " is not an EAL worker lcore: give Eal.init() lcores such as '0@0,1@1' and use a "
              "worker one",
          op);
  }
  uint32_t burst = o.Get("burst").ToNumber().Uint32Value();
  if (burst == 0 || burst > kMaxBurst) {
    Throw(env, "EINVAL", "burst must be from 1 to 512, got " + std::to_string(burst), op);
  }
  burst_ = static_cast<uint16_t>(burst);
  Napi::Value pool = o.Get("mempool");
  if (pool.IsObject()) pool_ = Mempool::FromValue(env, pool, op)->Get(env, op);
  // The packet of every stream that has no templates of its own.
  std::vector<uint8_t> sharedTemplate;
  Napi::Value tpl = o.Get("template");
  if (tpl.IsTypedArray()) {
    Napi::Uint8Array bytes = tpl.As<Napi::Uint8Array>();
    sharedTemplate.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  }
  yieldWhenIdle_ = o.Get("yieldWhenIdle").ToBoolean().Value();
  yieldEachPass_ = o.Get("yieldEachPass").ToBoolean().Value();
  Napi::Value ts = o.Get("timestampOffset");
  if (ts.IsNumber()) timestampOffset_ = ts.As<Napi::Number>().Int32Value();
  bool generates = mode_ == EngineMode::kTxOnly || mode_ == EngineMode::kGenerator;
  Napi::Array streams = o.Get("streams").As<Napi::Array>();
  for (uint32_t i = 0; i < streams.Length(); i++) {
    Napi::Object so = streams.Get(i).As<Napi::Object>();
    streams_.push_back(std::make_unique<Stream>());
    Stream* s = streams_.back().get();
    s->rxPort = PortField(env, so, "rxPort", op);
    s->rxQueue = PortField(env, so, "rxQueue", op);
    s->txPort = PortField(env, so, "txPort", op);
    s->txQueue = PortField(env, so, "txQueue", op);
    if (!rte_eth_dev_is_valid_port(s->rxPort) || !rte_eth_dev_is_valid_port(s->txPort)) {
      Throw(env, "ENODEV", "stream " + std::to_string(i) + " names a port that does not exist", op);
    }
    rte_eth_macaddr_get(s->txPort, &s->txSource);
    Napi::Value dst = so.Get("txDestination");
    // testpmd's and l2fwd's default peer address for port N is 02:00:00:00:00:N.
    char fallback[RTE_ETHER_ADDR_FMT_SIZE];
    snprintf(fallback, sizeof(fallback), "02:00:00:00:00:%02x", s->txPort & 0xff);
    std::string text = dst.IsString() ? dst.As<Napi::String>().Utf8Value() : fallback;
    if (rte_ether_unformat_addr(text.c_str(), &s->txDestination) != 0) {
      Throw(env, "EINVAL", "Invalid txDestination MAC \"" + text + "\"", op);
    }
    Napi::Value limit = so.Get("txLimit");
    if (limit.IsNumber())
      s->txLimit = static_cast<uint64_t>(limit.As<Napi::Number>().DoubleValue());
    Napi::Value rate = so.Get("ratePps");
    if (rate.IsNumber()) s->ratePps = rate.As<Napi::Number>().DoubleValue();
    Napi::Value send = so.Get("send");
    if (send.IsBoolean()) s->send = send.As<Napi::Boolean>().Value();
    Napi::Value templates = so.Get("templates");
    if (templates.IsArray()) {
      Napi::Array list = templates.As<Napi::Array>();
      for (uint32_t t = 0; t < list.Length(); t++) {
        Napi::Value item = list.Get(t);
        if (!item.IsTypedArray()) Throw(env, "EINVAL", "stream templates must be Uint8Arrays", op);
        Napi::Uint8Array bytes = item.As<Napi::Uint8Array>();
        s->templates.emplace_back(bytes.Data(), bytes.Data() + bytes.ByteLength());
      }
    }
    if (s->templates.empty() && !sharedTemplate.empty()) s->templates.push_back(sharedTemplate);
    if (!generates) continue;
    if (pool_ == nullptr || s->templates.empty()) {
      Throw(env, "EINVAL", "txonly and generator modes need a mempool and a packet template", op);
    }
    for (const std::vector<uint8_t>& packet : s->templates) {
      if (packet.size() < RTE_ETHER_HDR_LEN ||
          packet.size() >
              static_cast<size_t>(rte_pktmbuf_data_room_size(pool_) - RTE_PKTMBUF_HEADROOM)) {
        Throw(env, "EINVAL", "a packet template must be from 14 bytes to the mempool's data room",
              op);
      }
      if (timestampOffset_ >= 0 && static_cast<size_t>(timestampOffset_) + 12 > packet.size()) {
        Throw(env, "EINVAL", "timestampOffset leaves no room for the 12-byte timestamp", op);
      }
    }
  }
  if (streams_.empty()) Throw(env, "EINVAL", "an engine needs at least one stream", op);
  Napi::Value filter = o.Get("filter");
  if (!filter.IsUndefined()) {
    if (generates) Throw(env, "EINVAL", "txonly and generator modes take no filter", op);
    filter_ = PacketFilter::FromValue(env, filter, op);
  }
  // Last, once nothing can throw: a generating engine allocates from the pool whenever
  // it runs, so the pool must outlive it. Other modes never touch it.
  if (generates) {
    Mempool::AddUser(pool_);
  } else {
    pool_ = nullptr;
  }
  id_ = Telemetry::AddEngine(this);
}

Engine::~Engine() { Release(); }

void Engine::Release() {
  if (!closed_) Telemetry::RemoveEngine(id_);
  StopLoop();
  if (pool_ != nullptr) Mempool::RemoveUser(pool_);
  pool_ = nullptr;
  closed_ = true;
}

Napi::Value Engine::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

int Engine::Main(void* self) {
  static_cast<Engine*>(self)->Run();
  return 0;
}

uint16_t Engine::Filter(Stream& s, rte_mbuf** pkts, uint16_t n) {
  rte_mbuf* dropped[kMaxBurst];
  uint16_t kept = 0;
  uint16_t drops = 0;
  for (uint16_t i = 0; i < n; i++) {
    if (filter_->Drops(pkts[i])) {
      dropped[drops++] = pkts[i];
    } else {
      pkts[kept++] = pkts[i];
    }
  }
  filter_->FlushMirror();
  if (drops > 0) {
    rte_pktmbuf_free_bulk(dropped, drops);
    Add(s.counters.filtered, drops);
  }
  return kept;
}

uint32_t Engine::Forward(Stream& s, rte_mbuf** pkts) {
  uint16_t received = rte_eth_rx_burst(s.rxPort, s.rxQueue, pkts, burst_);
  if (received == 0) return 0;
  Add(s.counters.rx, received);
  uint16_t n = filter_ ? Filter(s, pkts, received) : received;
  switch (mode_) {
    case EngineMode::kMacSwap:
      for (uint16_t i = 0; i < n; i++) {
        rte_ether_hdr* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
        rte_ether_addr tmp = eth->dst_addr;
        eth->dst_addr = eth->src_addr;
        eth->src_addr = tmp;
      }
      break;
    case EngineMode::kMac:
    case EngineMode::kL2fwd:
      for (uint16_t i = 0; i < n; i++) {
        rte_ether_hdr* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
        eth->dst_addr = s.txDestination;
        eth->src_addr = s.txSource;
      }
      break;
    default:
      break;
  }
  // A forwarder that cannot send drops, as testpmd does: holding the burst would stop it
  // receiving, which moves the loss to its rx queue, where only the port's imissed shows it.
  uint16_t sent = rte_eth_tx_burst(s.txPort, s.txQueue, pkts, n);
  Add(s.counters.tx, sent);
  if (sent < n) {
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    Add(s.counters.dropped, n - sent);
  }
  return received;
}

// Sends the packets a full tx queue refused last time, else builds the next burst the
// stream's count and rate allow. What the queue refuses is backpressure, not loss: it is
// kept (no free, no new allocation) and sent first next time, so that tx counts exactly
// what the port accepted and a counted stream sends exactly its count.
uint32_t Engine::Generate(Stream& s, uint64_t now, uint64_t start) {
  bool fresh = s.heldCount == 0;
  if (fresh) {
    // Nothing is held, so tx counts every packet built so far.
    uint64_t sentSoFar = s.counters.tx.load(std::memory_order_relaxed);
    uint64_t want = burst_;
    if (s.txLimit > 0) {
      if (sentSoFar >= s.txLimit) return 0;
      want = std::min<uint64_t>(want, s.txLimit - sentSoFar);
    }
    if (s.ratePps > 0) {
      // Packets allowed by now at the configured rate, minus those this run sent or gave up.
      long double allowed = static_cast<long double>(now - start) * s.ratePps / rte_get_tsc_hz();
      uint64_t counted = sentSoFar - s.txAtRunStart + s.skippedThisRun;
      if (allowed <= counted) return 0;
      long double behind = allowed - counted;
      // A stream that fell behind (its lcore descheduled on a shared CPU, its queue full) resumes
      // its schedule instead of catching up at full speed, which overflows its peers' rings: what
      // it is behind beyond one burst or 1 ms at its rate is given up, and counted.
      long double most = std::max<long double>(burst_, s.ratePps / 1000);
      if (behind > most) {
        uint64_t skipped = static_cast<uint64_t>(behind - most);
        s.skippedThisRun += skipped;
        Add(s.counters.txSkipped, skipped);
        behind -= static_cast<long double>(skipped);
      }
      want = std::min<uint64_t>(want, static_cast<uint64_t>(behind) + 1);
    }
    uint16_t n = static_cast<uint16_t>(want);
    if (rte_pktmbuf_alloc_bulk(pool_, s.held, n) != 0) return 0;
    size_t kinds = s.templates.size();
    for (uint16_t i = 0; i < n; i++) {
      const std::vector<uint8_t>& packet = s.templates[kinds == 1 ? 0 : (sentSoFar + i) % kinds];
      uint16_t length = static_cast<uint16_t>(packet.size());
      char* data = rte_pktmbuf_mtod(s.held[i], char*);
      std::memcpy(data, packet.data(), length);
      if (timestampOffset_ >= 0) std::memcpy(data + timestampOffset_, &kTimestampMagic, 4);
      s.held[i]->data_len = length;
      s.held[i]->pkt_len = length;
    }
    s.heldStart = 0;
    s.heldCount = n;
  }
  rte_mbuf** pkts = s.held + s.heldStart;
  // Stamped at each try: latency counts from when the port took the packet, not the time
  // it waited here for room.
  if (timestampOffset_ >= 0) {
    for (uint16_t i = 0; i < s.heldCount; i++) {
      std::memcpy(rte_pktmbuf_mtod(pkts[i], char*) + timestampOffset_ + 4, &now, 8);
    }
  }
  uint16_t sent = rte_eth_tx_burst(s.txPort, s.txQueue, pkts, s.heldCount);
  Add(s.counters.tx, sent);
  s.heldStart += sent;
  s.heldCount -= sent;
  if (fresh && s.heldCount > 0) Add(s.counters.txBlocked, s.heldCount);
  return sent;
}

uint32_t Engine::Drain(Stream& s, rte_mbuf** pkts) {
  uint16_t n = rte_eth_rx_burst(s.rxPort, s.rxQueue, pkts, burst_);
  if (n == 0) return 0;
  // Read the clock after the burst: packets another lcore sent meanwhile are not from the future.
  uint64_t now = rte_rdtsc();
  Add(s.counters.rx, n);
  // rxonly frees every packet: its filter counts, and what it "drops" is counted as filtered.
  if (filter_) {
    uint16_t drops = 0;
    for (uint16_t i = 0; i < n; i++) drops += filter_->Drops(pkts[i]) ? 1 : 0;
    filter_->FlushMirror();
    Add(s.counters.filtered, drops);
  }
  if (timestampOffset_ >= 0) {
    for (uint16_t i = 0; i < n; i++) {
      if (pkts[i]->data_len < timestampOffset_ + 12) continue;
      const char* data = rte_pktmbuf_mtod(pkts[i], const char*) + timestampOffset_;
      uint32_t magic;
      uint64_t sentAt;
      std::memcpy(&magic, data, 4);
      std::memcpy(&sentAt, data + 4, 8);
      if (magic != kTimestampMagic || sentAt > now) continue;
      uint64_t cycles = now - sentAt;
      StreamCounters& c = s.counters;
      uint64_t samples = c.latencySamples.load(std::memory_order_relaxed);
      Add(c.latencySumCycles, cycles);
      if (cycles < c.latencyMinCycles.load(std::memory_order_relaxed))
        c.latencyMinCycles.store(cycles, std::memory_order_relaxed);
      if (cycles > c.latencyMaxCycles.load(std::memory_order_relaxed))
        c.latencyMaxCycles.store(cycles, std::memory_order_relaxed);
      Add(c.latencyHistogram[HistogramBucket(cycles)], 1);
      if (samples < StreamCounters::kKeptSamples)
        c.latencyKept[samples].store(cycles, std::memory_order_relaxed);
      c.latencySamples.store(samples + 1, std::memory_order_release);
    }
  }
  rte_pktmbuf_free_bulk(pkts, n);
  return n;
}

void Engine::Run() {
  rte_mbuf* pkts[kMaxBurst];
  for (auto& s : streams_) {
    s->txAtRunStart = s->counters.tx.load(std::memory_order_relaxed);
    s->skippedThisRun = 0;
  }
  uint64_t start = rte_rdtsc();
  bool pending = true;
  while (pending && !stopRequested_.load(std::memory_order_relaxed)) {
    // Only txonly ends by itself, once every stream has sent its limit.
    pending = mode_ != EngineMode::kTxOnly;
    uint32_t progress = 0;
    bool blocked = false;
    for (auto& s : streams_) {
      switch (mode_) {
        case EngineMode::kRxOnly:
          progress += Drain(*s, pkts);
          break;
        case EngineMode::kTxOnly:
          progress += Generate(*s, rte_rdtsc(), start);
          if (s->txLimit == 0 || s->counters.tx.load(std::memory_order_relaxed) < s->txLimit)
            pending = true;
          break;
        case EngineMode::kGenerator:
          if (s->send) progress += Generate(*s, rte_rdtsc(), start);
          progress += Drain(*s, pkts);
          break;
        default:
          progress += Forward(*s, pkts);
          break;
      }
      if (s->heldCount > 0) blocked = true;
    }
    // On a CPU shared with another poller (e.g. an OVS PMD thread, the consumer of a full
    // tx queue), a loop that moved nothing or is waiting for room hands the CPU over
    // instead of spinning out its time slice.
    // A generator whose consumer never refuses it (OVS drops at the far end instead) is never
    // idle or blocked: yieldEachPass hands the CPU over after every pass regardless.
    if (yieldEachPass_ || ((progress == 0 || blocked) && yieldWhenIdle_)) sched_yield();
  }
  // Packets built and never taken go back to the pool; they were not counted as sent, so a
  // restarted stream builds them again.
  for (auto& s : streams_) {
    if (s->heldCount > 0) rte_pktmbuf_free_bulk(s->held + s->heldStart, s->heldCount);
    s->heldStart = 0;
    s->heldCount = 0;
  }
  finished_.store(true);
}

Napi::Value Engine::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Engine.start";
  Eal::Require(env, op);
  if (closed_) Throw(env, "ERR_CLOSED", "Engine is closed", op);
  if (running_) return env.Undefined();
  {
    // An engine that ended by itself (txonly at its limits) still holds the lcore's slot:
    // collect it; one that runs makes the lcore busy.
    std::lock_guard<std::mutex> lock(g_mutex);
    for (Engine* other : g_running) {
      if (other->lcore_ == lcore_ && !other->finished_) {
        Throw(env, "EBUSY", "lcore " + std::to_string(lcore_) + " is already running something",
              op);
      }
    }
  }
  for (Engine* other : Running()) {
    if (other->lcore_ == lcore_) other->StopLoop();
  }
  if (rte_eal_get_lcore_state(lcore_) != WAIT) {
    Throw(env, "EBUSY", "lcore " + std::to_string(lcore_) + " is already running something", op);
  }
  bool needsRx = mode_ != EngineMode::kTxOnly;
  bool needsTx = mode_ != EngineMode::kRxOnly;
  for (auto& s : streams_) {
    if ((needsRx &&
         (!PortTable::Started(s->rxPort) || s->rxQueue >= PortTable::RxQueues(s->rxPort))) ||
        (needsTx &&
         (!PortTable::Started(s->txPort) || s->txQueue >= PortTable::TxQueues(s->txPort)))) {
      Throw(env, "ERR_PORT_STOPPED",
            "Engine stream " + PortTable::Describe(s->rxPort) + " -> " +
                PortTable::Describe(s->txPort) + " needs started ports with those queues",
            op);
    }
  }
  if (filter_ && filter_->HasMirror() &&
      (!PortTable::Started(filter_->MirrorPort()) ||
       filter_->MirrorQueue() >= PortTable::TxQueues(filter_->MirrorPort()))) {
    Throw(env, "ERR_PORT_STOPPED",
          "Engine filter's mirror " + PortTable::Describe(filter_->MirrorPort()) +
              " needs to be started, with that tx queue",
          op);
  }
  for (auto& s : streams_) {
    if (needsRx && PortTable::Acquire(s->rxPort)) acquired_.push_back(s->rxPort);
    if (needsTx && PortTable::Acquire(s->txPort)) acquired_.push_back(s->txPort);
  }
  if (filter_ && filter_->HasMirror() && PortTable::Acquire(filter_->MirrorPort()))
    acquired_.push_back(filter_->MirrorPort());
  stopRequested_ = false;
  finished_ = false;
  int ret = rte_eal_remote_launch(&Engine::Main, this, lcore_);
  if (ret != 0) {
    ReleasePorts();
    Throw(env, ErrnoName(-ret), "Cannot launch the engine on lcore " + std::to_string(lcore_), op);
  }
  running_ = true;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_running.insert(this);
  return env.Undefined();
}

void Engine::ReleasePorts() {
  for (uint16_t port : acquired_) PortTable::Release(port);
  acquired_.clear();
}

std::vector<Engine*> Engine::Running() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return std::vector<Engine*>(g_running.begin(), g_running.end());
}

void Engine::StopLoop() {
  if (!running_) return;
  stopRequested_ = true;
  rte_eal_wait_lcore(lcore_);
  running_ = false;
  ReleasePorts();
  std::lock_guard<std::mutex> lock(g_mutex);
  g_running.erase(this);
}

void Engine::StopAll() {
  std::vector<Engine*> running = Running();
  // Ask every loop to end before waiting for any, so that no wait is on another's lcore.
  for (Engine* engine : running) engine->stopRequested_ = true;
  for (Engine* engine : running) engine->StopLoop();
}

Napi::Value Engine::Stop(const Napi::CallbackInfo& info) {
  StopLoop();
  return info.Env().Undefined();
}

Napi::Value Engine::IsRunning(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), running_ && !finished_);
}

Napi::Value Engine::GetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_);
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double nsPerCycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
  Napi::Array result = Napi::Array::New(env, streams_.size());
  for (size_t i = 0; i < streams_.size(); i++) {
    const StreamCounters& c = streams_[i]->counters;
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxPort", streams_[i]->rxPort);
    o.Set("txPort", streams_[i]->txPort);
    o.Set("rx", static_cast<double>(c.rx.load(std::memory_order_relaxed)));
    o.Set("tx", static_cast<double>(c.tx.load(std::memory_order_relaxed)));
    o.Set("dropped", static_cast<double>(c.dropped.load(std::memory_order_relaxed)));
    if (mode_ == EngineMode::kTxOnly || mode_ == EngineMode::kGenerator) {
      o.Set("txBlocked", static_cast<double>(c.txBlocked.load(std::memory_order_relaxed)));
      if (streams_[i]->ratePps > 0)
        o.Set("txSkipped", static_cast<double>(c.txSkipped.load(std::memory_order_relaxed)));
    }
    if (filter_) o.Set("filtered", static_cast<double>(c.filtered.load(std::memory_order_relaxed)));
    uint64_t samples = c.latencySamples.load(std::memory_order_acquire);
    if (samples > 0) {
      Napi::Object lat = Napi::Object::New(env);
      lat.Set("samples", static_cast<double>(samples));
      lat.Set("minNs", c.latencyMinCycles.load() * nsPerCycle);
      lat.Set("maxNs", c.latencyMaxCycles.load() * nsPerCycle);
      lat.Set("avgNs", static_cast<double>(c.latencySumCycles.load()) / samples * nsPerCycle);
      if (samples <= StreamCounters::kKeptSamples) {
        // Every sample was kept: the facade computes exact percentiles from them.
        Napi::Float64Array kept = Napi::Float64Array::New(env, samples);
        for (uint64_t k = 0; k < samples; k++)
          kept[k] = c.latencyKept[k].load(std::memory_order_relaxed) * nsPerCycle;
        lat.Set("samplesNs", kept);
      } else {
        // [lower bound, upper bound, count] of each bucket that counted something.
        Napi::Array buckets = Napi::Array::New(env);
        uint32_t n = 0;
        for (int b = 0; b < StreamCounters::kBuckets; b++) {
          uint64_t count = c.latencyHistogram[b].load(std::memory_order_relaxed);
          if (count == 0) continue;
          Napi::Array bucket = Napi::Array::New(env, 3);
          bucket.Set(0u, BucketLowerBound(b) * nsPerCycle);
          bucket.Set(1u, (BucketLowerBound(b) + BucketWidth(b)) * nsPerCycle);
          bucket.Set(2u, static_cast<double>(count));
          buckets.Set(n++, bucket);
        }
        lat.Set("histogram", buckets);
      }
      o.Set("latency", lat);
    }
    result.Set(i, o);
  }
  return result;
}

// counts(into: Float64Array): writes [rx, tx, dropped] of each stream into `into` (at least
// 3 * streams long); allocates nothing, for readers that sample often.
Napi::Value Engine::Counts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t needed = streams_.size() * 3;
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < needed) {
    Throw(env, "EINVAL", "into must be a Float64Array of at least 3 numbers a stream",
          "Engine.counts");
  }
  Napi::Float64Array into = info[0].As<Napi::Float64Array>();
  for (size_t i = 0; i < streams_.size(); i++) {
    const StreamCounters& c = streams_[i]->counters;
    into[i * 3] = static_cast<double>(c.rx.load(std::memory_order_relaxed));
    into[i * 3 + 1] = static_cast<double>(c.tx.load(std::memory_order_relaxed));
    into[i * 3 + 2] = static_cast<double>(c.dropped.load(std::memory_order_relaxed));
  }
  return env.Undefined();
}

Napi::Value Engine::FilterStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return filter_ ? filter_->Stats(env) : Napi::Float64Array::New(env, 0);
}

Napi::Value Engine::ResetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (running_ && !finished_) {
    Throw(env, "EBUSY", "Stop the engine before resetting its counters", "Engine.resetStats");
  }
  for (auto& s : streams_) {
    StreamCounters& c = s->counters;
    c.rx = 0;
    c.tx = 0;
    c.dropped = 0;
    c.txBlocked = 0;
    c.txSkipped = 0;
    c.filtered = 0;
    c.latencySamples = 0;
    c.latencySumCycles = 0;
    c.latencyMinCycles = UINT64_MAX;
    c.latencyMaxCycles = 0;
    for (auto& b : c.latencyHistogram) b = 0;
  }
  if (filter_) filter_->ResetStats();
  return env.Undefined();
}

}  // namespace dpdkts
