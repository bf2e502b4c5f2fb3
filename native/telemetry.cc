// The /dpdk_ts/... telemetry commands and the registry they read (see telemetry.h). Engine
// counters are atomics with a single writer; lcore workers' counters are doubles in shared
// memory that a JS loop writes, read here with whole 8-byte loads (never torn, as JS's own
// reads from the main thread); a batch's packet count is a 4-byte word its JS thread writes,
// read whole in the same way.
#include "telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "batch.h"
#include "engine.h"

namespace dpdkts {

namespace {

struct WorkerEntry {
  unsigned int cpu;
  std::vector<std::string> names;
  const double* counters;
};

// Guards the registry; held by a callback for as long as it reads an object, so that the
// object's removal (close, finalization, thread exit) waits for the read to finish.
std::mutex g_mutex;
uint32_t g_nextEngineId = 0;
std::map<uint32_t, const Engine*> g_engines;
std::map<unsigned int, WorkerEntry> g_workers;
std::set<const Batch*> g_batches;

// The number in a command's parameter ("/dpdk_ts/engine,3"), or false when there is none.
bool ParseId(const char* params, unsigned long* id) {
  if (params == nullptr || *params == '\0') return false;
  char* end = nullptr;
  errno = 0;
  *id = strtoul(params, &end, 10);
  return errno == 0 && *end == '\0' && params[0] >= '0' && params[0] <= '9';
}

// Telemetry accepts dict keys of letters, digits, '_' and '/' only; a worker's counter names
// are the user's.
std::string KeyName(const std::string& name) {
  std::string key = name.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
  for (char& c : key) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
  }
  return key.empty() ? "_" : key;
}

const char* ModeName(EngineMode mode) {
  switch (mode) {
    case EngineMode::kIo:
      return "io";
    case EngineMode::kMac:
      return "mac";
    case EngineMode::kMacSwap:
      return "macswap";
    case EngineMode::kRxOnly:
      return "rxonly";
    case EngineMode::kTxOnly:
      return "txonly";
    case EngineMode::kL2fwd:
      return "l2fwd";
    case EngineMode::kGenerator:
      return "generator";
  }
  return "unknown";
}

int ListEngines(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [id, engine] : g_engines) rte_tel_data_add_array_int(d, static_cast<int>(id));
  return 0;
}

int ListWorkers(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [lcore, worker] : g_workers) rte_tel_data_add_array_int(d, lcore);
  return 0;
}

int DescribeWorker(const char*, const char* params, rte_tel_data* d) {
  unsigned long lcore;
  if (!ParseId(params, &lcore)) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_workers.find(static_cast<unsigned int>(lcore));
  if (it == g_workers.end()) return -ENOENT;
  const WorkerEntry& worker = it->second;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_int(d, "lcore", static_cast<int>(lcore));
  rte_tel_data_add_dict_int(d, "cpu", static_cast<int>(worker.cpu));
  for (size_t i = 0; i < worker.names.size(); i++) {
    uint64_t bits =
        __atomic_load_n(reinterpret_cast<const uint64_t*>(worker.counters + i), __ATOMIC_RELAXED);
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    // Counters count packets; anything else a loop may have stored reads as 0.
    uint64_t count = value >= 0 && value < 1.8e19 ? static_cast<uint64_t>(value) : 0;
    rte_tel_data_add_dict_u64(d, KeyName(worker.names[i]).c_str(), count);
  }
  return 0;
}

}  // namespace

// Telemetry is Engine's friend, so that the engine needs no accessors only this file uses.
int Telemetry::DescribeEngine(const char*, const char* params, rte_tel_data* d) {
  unsigned long id;
  if (!ParseId(params, &id)) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_engines.find(static_cast<uint32_t>(id));
  if (it == g_engines.end()) return -ENOENT;
  const Engine& engine = *it->second;
  rte_tel_data* rxPorts = rte_tel_data_alloc();
  rte_tel_data* txPorts = rte_tel_data_alloc();
  if (rxPorts == nullptr || txPorts == nullptr) {
    rte_tel_data_free(rxPorts);
    rte_tel_data_free(txPorts);
    return -ENOMEM;
  }
  rte_tel_data_start_array(rxPorts, RTE_TEL_INT_VAL);
  rte_tel_data_start_array(txPorts, RTE_TEL_INT_VAL);
  uint64_t rx = 0, tx = 0, dropped = 0, filtered = 0, txBlocked = 0, txSkipped = 0;
  bool paced = false;
  for (const auto& stream : engine.streams_) {
    const StreamCounters& c = stream->counters;
    rx += c.rx.load(std::memory_order_relaxed);
    tx += c.tx.load(std::memory_order_relaxed);
    dropped += c.dropped.load(std::memory_order_relaxed);
    filtered += c.filtered.load(std::memory_order_relaxed);
    txBlocked += c.txBlocked.load(std::memory_order_relaxed);
    txSkipped += c.txSkipped.load(std::memory_order_relaxed);
    paced = paced || stream->ratePps > 0;
    rte_tel_data_add_array_int(rxPorts, stream->rxPort);
    rte_tel_data_add_array_int(txPorts, stream->txPort);
  }
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_int(d, "id", static_cast<int>(id));
  rte_tel_data_add_dict_string(d, "mode", ModeName(engine.mode_));
  rte_tel_data_add_dict_int(d, "lcore", static_cast<int>(engine.lcore_));
  rte_tel_data_add_dict_int(d, "running", engine.running_.load() && !engine.finished_.load());
  rte_tel_data_add_dict_int(d, "streams", static_cast<int>(engine.streams_.size()));
  rte_tel_data_add_dict_container(d, "rx_ports", rxPorts, 0);
  rte_tel_data_add_dict_container(d, "tx_ports", txPorts, 0);
  rte_tel_data_add_dict_u64(d, "rx", rx);
  rte_tel_data_add_dict_u64(d, "tx", tx);
  rte_tel_data_add_dict_u64(d, "dropped", dropped);
  if (engine.filter_) rte_tel_data_add_dict_u64(d, "filtered", filtered);
  if (engine.mode_ == EngineMode::kTxOnly || engine.mode_ == EngineMode::kGenerator) {
    rte_tel_data_add_dict_u64(d, "tx_blocked", txBlocked);
    if (paced) rte_tel_data_add_dict_u64(d, "tx_skipped", txSkipped);
  }
  return 0;
}

int Telemetry::DescribeBatches(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mutex);
  uint64_t capacity = 0, held = 0;
  for (const Batch* batch : g_batches) {
    capacity += batch->mbufs_.size();
    held += __atomic_load_n(&batch->count_, __ATOMIC_RELAXED);
  }
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "open", g_batches.size());
  rte_tel_data_add_dict_u64(d, "capacity", capacity);
  rte_tel_data_add_dict_u64(d, "held", held);
  return 0;
}

void Telemetry::RegisterCommands() {
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/dpdk_ts/engines", ListEngines,
                               "Ids of the dpdk-ts engines that exist. Takes no parameters");
    rte_telemetry_register_cmd("/dpdk_ts/engine", DescribeEngine,
                               "A dpdk-ts engine's mode, lcore, ports and counters. Parameter: "
                               "engine id");
    rte_telemetry_register_cmd("/dpdk_ts/workers", ListWorkers,
                               "Lcores of the dpdk-ts lcore workers that run. Takes no parameters");
    rte_telemetry_register_cmd(
        "/dpdk_ts/worker", DescribeWorker,
        "A dpdk-ts lcore worker's cpu and live counters. Parameter: lcore id");
    rte_telemetry_register_cmd("/dpdk_ts/batches", DescribeBatches,
                               "The open dpdk-ts batches, their capacity and the packets they "
                               "hold. Takes no parameters");
  });
}

uint32_t Telemetry::AddEngine(const Engine* engine) {
  std::lock_guard<std::mutex> lock(g_mutex);
  uint32_t id = g_nextEngineId++;
  g_engines[id] = engine;
  return id;
}

void Telemetry::RemoveEngine(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_engines.erase(id);
}

void Telemetry::AddWorker(unsigned int lcore, unsigned int cpu, std::vector<std::string> names,
                          const double* counters) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_workers[lcore] = WorkerEntry{cpu, std::move(names), counters};
}

void Telemetry::RemoveWorker(unsigned int lcore) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_workers.erase(lcore);
}

void Telemetry::AddBatch(const Batch* batch) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_batches.insert(batch);
}

void Telemetry::RemoveBatch(const Batch* batch) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_batches.erase(batch);
}

}  // namespace dpdkts
