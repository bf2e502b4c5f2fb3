// Capture: see capture.h. How a callback and Detach never race on a capture being freed: the
// callback's argument is a Tap that lives as long as the process (one per port and direction),
// never the Capture itself. A callback marks the tap active, then reads its capture; Detach
// removes the callbacks, clears the capture, then waits until no callback is active. Both
// sides use sequentially consistent atomics, so either the callback sees no capture or Detach
// sees it active: a callback that DPDK started just before the removal (rte_eth_remove_*
// leaves those running) finds nothing to do.
#define ALLOW_EXPERIMENTAL_API 1  // rte_pcapng is experimental in DPDK 22.11
#include "capture.h"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_pcapng.h>
#include <rte_version.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <tuple>

#include "eal.h"
#include "errors.h"
#include "log_capture.h"
#include "port_table.h"

namespace dpdkts {

namespace {

struct Tap {
  std::atomic<Capture*> capture{nullptr};
  std::atomic<uint32_t> active{0};
};

Tap g_rxTaps[RTE_MAX_ETHPORTS];
Tap g_txTaps[RTE_MAX_ETHPORTS];

std::mutex g_mutex;                 // guards the taps' assignment and g_captures
std::set<Capture*> g_captures;      // captures not finished yet
std::atomic<uint64_t> g_serial{0};  // for unique ring and pool names

// Room for the copies in flight between the callbacks and the writer. The writer empties it
// every millisecond, so it holds a burst of about 2 Mpps before copies are dropped.
constexpr unsigned kRingSize = 2048;
constexpr uint16_t kChunk = 64;  // copies staged per enqueue
constexpr uint16_t kWriteBurst = 256;

uint16_t Pass(Tap* tap, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, int direction) {
  tap->active.fetch_add(1);
  Capture* capture = tap->capture.load();
  if (capture != nullptr) capture->Take(port, queue, pkts, n, direction);
  tap->active.fetch_sub(1);
  return n;
}

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  if (n != 0) counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

uint16_t Capture::OnRx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t,
                       void* tap) {
  return Pass(static_cast<Tap*>(tap), port, queue, pkts, n, RTE_PCAPNG_DIRECTION_IN);
}

uint16_t Capture::OnTx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* tap) {
  return Pass(static_cast<Tap*>(tap), port, queue, pkts, n, RTE_PCAPNG_DIRECTION_OUT);
}

void Capture::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Capture",
                                    {
                                        InstanceMethod("stop", &Capture::Stop),
                                        InstanceMethod("stats", &Capture::Stats),
                                    });
  exports.Set("Capture", ctor);
}

Capture::Capture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Capture>(info) {
  Napi::Env env = info.Env();
  const char* op = "Port.capture";
  Eal::Require(env, op);
  uint32_t port = ArgUint32(info, 0, "port id", op, RTE_MAX_ETHPORTS - 1);
  path_ = ArgString(info, 1, "path", op);
  if (!info[2].IsObject()) Throw(env, "EINVAL", "capture options must be an object", op);
  Napi::Object options = info[2].As<Napi::Object>();
  rx_ = options.Get("rx").ToBoolean();
  tx_ = options.Get("tx").ToBoolean();
  snapLength_ = options.Get("snapLength").ToNumber().Uint32Value();
  packetLimit_ = static_cast<uint64_t>(options.Get("packetLimit").ToNumber().DoubleValue());
  if (options.Get("filter").IsObject())
    filter_ = PacketFilter::FromValue(env, options.Get("filter"), op);

  if (!rte_eth_dev_is_valid_port(port)) Throw(env, "ERR_CLOSED", "Port is closed", op);
  port_ = static_cast<uint16_t>(port);
  std::string object = PortTable::Describe(port_);
  uint16_t nbRx = PortTable::RxQueues(port_), nbTx = PortTable::TxQueues(port_);
  if ((rx_ && nbRx == 0) || (tx_ && nbTx == 0)) {
    Throw(env, "EINVAL",
          std::string("Port has no ") + (rx_ && nbRx == 0 ? "rx" : "tx") +
              " queue to capture: configure() it first",
          op, object);
  }
  {
    // Checked before the file is made; the taps' assignment below checks again.
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto [wanted, taps, name] :
         {std::make_tuple(rx_, g_rxTaps, "rx"), std::make_tuple(tx_, g_txTaps, "tx")}) {
      if (wanted && taps[port_].capture.load() != nullptr) {
        Throw(env, "EBUSY",
              std::string("Port's ") + name + " is already captured to \"" +
                  taps[port_].capture.load()->path_ + "\": stop that capture first",
              op, object);
      }
    }
  }

  // Everything else is checked: only now is the file created (or emptied).
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    Throw(env, ErrnoName(err),
          "Cannot open the capture file \"" + path_ + "\" for writing: " + strerror(err) +
              ": give a path in an existing directory this process may write to",
          op, object);
  }
  size_t mark = LogCapture::Instance().Mark();
  uint64_t serial = g_serial.fetch_add(1);
  std::string name = "dts-cap" + std::to_string(serial);
  int socket = rte_eth_dev_socket_id(port_);
  // One segment per copy: rte_pcapng_copy of DPDK 22.11 records the first segment's length
  // as the captured length.
  pool_ = rte_pktmbuf_pool_create(name.c_str(), kRingSize - 1, 0, 0,
                                  rte_pcapng_mbuf_size(snapLength_) + 16,
                                  socket < 0 ? SOCKET_ID_ANY : socket);
  ring_ = pool_ == nullptr ? nullptr
                           : rte_ring_create(name.c_str(), kRingSize,
                                             socket < 0 ? SOCKET_ID_ANY : socket, RING_F_SC_DEQ);
  if (ring_ == nullptr) {
    int err = rte_errno;
    close(fd);
    rte_mempool_free(pool_);
    pool_ = nullptr;
    ThrowDpdk(env, -err, "Cannot allocate the capture's buffers", op, object, mark);
  }
  std::string version = rte_version();
  pcapng_ = rte_pcapng_fdopen(fd, nullptr, nullptr, ("dpdk-ts (" + version + ")").c_str(), nullptr);
  if (pcapng_ == nullptr) {
    int err = rte_errno;
    close(fd);
    rte_ring_free(ring_);
    rte_mempool_free(pool_);
    ring_ = nullptr;
    pool_ = nullptr;
    ThrowDpdk(env, -err, "Cannot write the capture file \"" + path_ + "\"", op, object, mark);
  }
  writer_ = std::thread([this]() { WriterLoop(); });
  bool added = true, busy = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_captures.insert(this);
    attached_ = true;
    Capture* none = nullptr;
    if (rx_ && !(busy = !g_rxTaps[port_].capture.compare_exchange_strong(none, this))) {
      for (uint16_t q = 0; q < nbRx; q++) {
        rxCallbacks_.push_back(rte_eth_add_rx_callback(port_, q, &Capture::OnRx, &g_rxTaps[port_]));
        added = added && rxCallbacks_.back() != nullptr;
      }
    }
    none = nullptr;
    if (tx_ && !busy && !(busy = !g_txTaps[port_].capture.compare_exchange_strong(none, this))) {
      for (uint16_t q = 0; q < nbTx; q++) {
        txCallbacks_.push_back(rte_eth_add_tx_callback(port_, q, &Capture::OnTx, &g_txTaps[port_]));
        added = added && txCallbacks_.back() != nullptr;
      }
    }
  }
  if (busy || !added) {
    int err = rte_errno;
    Finish();
    if (busy) Throw(env, "EBUSY", "Port was captured meanwhile by another thread", op, object);
    ThrowDpdk(env, -err, "Cannot add the capture's rx/tx callbacks", op, object, mark);
  }
}

Capture::~Capture() { Finish(); }

void Capture::Take(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, int direction) {
  if (packetLimit_ != 0 && taken_.load(std::memory_order_relaxed) >= packetLimit_) return;
  uint64_t now = rte_get_tsc_cycles();
  rte_mbuf* staged[kChunk];
  uint16_t count = 0;
  uint64_t filtered = 0, failed = 0;
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    if (filter_ != nullptr &&
        filter_->Match(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len) < 0) {
      filtered++;
      continue;
    }
    if (packetLimit_ != 0 && taken_.fetch_add(1, std::memory_order_relaxed) >= packetLimit_) break;
    rte_mbuf* copy = rte_pcapng_copy(port, queue, m, pool_, snapLength_, now,
                                     static_cast<rte_pcapng_direction>(direction));
    if (copy == nullptr) {
      failed++;
      continue;
    }
    staged[count++] = copy;
    if (count == kChunk) {
      Enqueue(staged, count);
      count = 0;
    }
  }
  if (count > 0) Enqueue(staged, count);
  Add(filteredOut_, filtered);
  Add(dropped_, failed);
}

void Capture::Enqueue(rte_mbuf** copies, uint16_t n) {
  unsigned queued = rte_ring_enqueue_burst(ring_, reinterpret_cast<void**>(copies), n, nullptr);
  if (queued < n) {
    rte_pktmbuf_free_bulk(copies + queued, n - queued);
    Add(dropped_, n - queued);
  }
}

void Capture::WriterLoop() {
  rte_mbuf* burst[kWriteBurst];
  for (;;) {
    // Read before the ring: once Finish has asked to stop, nothing more is enqueued.
    bool stopping = stopWriter_.load();
    unsigned n =
        rte_ring_sc_dequeue_burst(ring_, reinterpret_cast<void**>(burst), kWriteBurst, nullptr);
    if (n == 0) {
      if (stopping) return;
      usleep(1000);
      continue;
    }
    if (writeError_.load() == 0) {
      if (rte_pcapng_write_packets(pcapng_, burst, static_cast<uint16_t>(n)) < 0) {
        writeError_.store(rte_errno != 0 ? rte_errno : EIO);
        Add(dropped_, n);
      } else {
        Add(written_, n);
      }
    } else {
      Add(dropped_, n);
    }
    rte_pktmbuf_free_bulk(burst, n);
  }
}

void Capture::Detach() {
  if (!attached_) return;
  attached_ = false;
  bool valid = rte_eth_dev_is_valid_port(port_);
  for (uint16_t q = 0; valid && q < rxCallbacks_.size(); q++)
    if (rxCallbacks_[q] != nullptr) rte_eth_remove_rx_callback(port_, q, rxCallbacks_[q]);
  for (uint16_t q = 0; valid && q < txCallbacks_.size(); q++)
    if (txCallbacks_[q] != nullptr) rte_eth_remove_tx_callback(port_, q, txCallbacks_[q]);
  rxCallbacks_.clear();
  txCallbacks_.clear();
  for (Tap* tap : {rx_ ? &g_rxTaps[port_] : nullptr, tx_ ? &g_txTaps[port_] : nullptr}) {
    Capture* self = this;
    if (tap == nullptr || !tap->capture.compare_exchange_strong(self, nullptr)) continue;
    while (tap->active.load() != 0) sched_yield();
  }
}

void Capture::Finish() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (finished_) return;
    finished_ = true;
    Detach();
    g_captures.erase(this);
  }
  stopWriter_.store(true);
  if (writer_.joinable()) writer_.join();
  if (pcapng_ != nullptr) rte_pcapng_close(pcapng_);
  pcapng_ = nullptr;
  rte_ring_free(ring_);
  ring_ = nullptr;
  rte_mempool_free(pool_);
  pool_ = nullptr;
}

void Capture::DetachPort(uint16_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (Capture* capture : g_captures)
    if (capture->port_ == id) capture->Detach();
}

void Capture::StopAll() {
  std::vector<Capture*> captures;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    captures.assign(g_captures.begin(), g_captures.end());
  }
  for (Capture* capture : captures) capture->Finish();
}

// stop(): ends the capture and completes the file; throws if writing it failed.
Napi::Value Capture::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool wasFinished = finished_;
  Finish();
  int err = writeError_.load();
  if (err != 0 && !wasFinished) {
    Throw(env, ErrnoName(err),
          "Cannot write the capture file \"" + path_ + "\": " + strerror(err) + " (" +
              std::to_string(dropped_.load()) + " packet(s) lost); the file holds the first " +
              std::to_string(written_.load()),
          "Capture.stop", path_);
  }
  return env.Undefined();
}

// stats(): [written, filteredOut, dropped, limit reached (0 or 1), capturing (0 or 1)].
Napi::Value Capture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array result = Napi::Float64Array::New(env, 5);
  result[0] = static_cast<double>(written_.load());
  result[1] = static_cast<double>(filteredOut_.load());
  result[2] = static_cast<double>(dropped_.load());
  result[3] = packetLimit_ != 0 && taken_.load() >= packetLimit_ ? 1 : 0;
  std::lock_guard<std::mutex> lock(g_mutex);
  result[4] = attached_ ? 1 : 0;
  return result;
}

}  // namespace dpdkts
