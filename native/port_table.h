// The process-wide table of ports: what the SDK knows of each port id (started, queue counts,
// how many pollers hold it, its epoch). It is process-wide, not per environment, because
// worker threads and engines attach to ports by id. Port objects (port.cc) configure, start
// and close ports through it; the burst path (burst.cc) checks queue handles against it
// without a lock; engines and lcore workers mark the ports they poll as busy in it.
#pragma once

#include <rte_ethdev.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace dpdkts {

// Bursts name a port's queue by one number, a queue handle: epoch << 26 | port id << 16 |
// queue. One argument to convert instead of three, and exact in a double while the epoch
// stays below 2^27 (lib/port.ts adds the queue to Port.queueBase).
constexpr int kQueueBits = 16;
constexpr int kPortBits = 10;
constexpr uint64_t kEpochLimit = uint64_t{1} << (53 - kQueueBits - kPortBits);
static_assert(RTE_MAX_ETHPORTS <= (1 << kPortBits), "port ids must fit a queue handle");

// What the SDK knows of one port id. The atomics are read without a lock by bursts, engines
// and worker threads; the rest changes only under PortTable::Mutex().
struct PortRecord {
  std::atomic<bool> started{false};
  std::atomic<int> busy{0};
  std::atomic<uint64_t> epoch{1};  // bumped when the port is closed
  std::atomic<uint16_t> nbRx{0};
  std::atomic<uint16_t> nbTx{0};
  bool hotplugged = false;
  std::string deviceName;
  std::vector<rte_mempool*> rxPools;
};

class PortTable {
 public:
  // The record of port `id` (below RTE_MAX_ETHPORTS). Inline: every burst reads it.
  static PortRecord& Record(uint16_t id) { return records_[id]; }
  // Held while a port is hotplugged or torn down.
  static std::mutex& Mutex() { return mutex_; }

  static std::string Name(uint16_t id);
  // "port 0 (net_ring0)", the `object` of a port's errors.
  static std::string Describe(uint16_t id);

  // Engines and lcore workers mark the ports they poll, so they cannot be stopped under them.
  static bool Acquire(uint16_t id);
  static void Release(uint16_t id);
  static bool Started(uint16_t id);
  static uint16_t RxQueues(uint16_t id);
  static uint16_t TxQueues(uint16_t id);

  // Gives back the port's hold on the pools of its rx queues.
  static void ReleasePools(PortRecord& record);
  // Frees the rings a RingPort's net_ring device made that DPDK's close leaves.
  static void FreeRingPortRings(const std::string& deviceName);
  // Stops, closes and (when created at runtime) unplugs a port, and bumps its epoch so that
  // every handle on it turns stale. Called with Mutex() held.
  static void Teardown(uint16_t id);
  // Tears down every port (EAL shutdown).
  static void CloseAll();

 private:
  // Hidden, so that the burst path in another translation unit addresses it directly rather
  // than through the GOT, as it did when the table was local to port.cc.
  static PortRecord records_[RTE_MAX_ETHPORTS] __attribute__((visibility("hidden")));
  static std::mutex mutex_;
};

}  // namespace dpdkts
