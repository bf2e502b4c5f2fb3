// The SDK's own DPDK telemetry commands (/dpdk_ts/...), answered beside DPDK's (/ethdev/...,
// /eal/...) on the telemetry socket. Their callbacks run on DPDK's telemetry thread, not on a
// JS thread: they make no N-API call and read only native state, through a registry of the
// live engines, lcore workers and batches kept under one mutex. Objects come and go; commands
// cannot (DPDK has no way to unregister one), so they are registered once per process and look
// their objects up in the registry at each request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_tel_data;

namespace dpdkts {

class Batch;
class Engine;

class Telemetry {
 public:
  // Registers the commands, once per process, after EAL is initialized.
  static void RegisterCommands();

  // An engine is listed from its creation to its close (or finalization); returns its id,
  // the N of /dpdk_ts/engine,N.
  static uint32_t AddEngine(const Engine* engine);
  static void RemoveEngine(uint32_t id);

  // An lcore worker thread is listed while it is registered with EAL. `counters` points at
  // its live counters (a Float64Array over shared memory the worker writes), which must stay
  // valid until RemoveWorker; the names say which is which.
  static void AddWorker(unsigned int lcore, unsigned int cpu, std::vector<std::string> names,
                        const double* counters);
  static void RemoveWorker(unsigned int lcore);

  // A batch is counted in /dpdk_ts/batches from its creation to its close (or finalization).
  static void AddBatch(const Batch* batch);
  static void RemoveBatch(const Batch* batch);

 private:
  // /dpdk_ts/engine,N: a member, as Engine's friend, to read the engine's fields.
  static int DescribeEngine(const char* cmd, const char* params, rte_tel_data* d);
  // /dpdk_ts/batches: a member, as Batch's friend, to read the batches' fields.
  static int DescribeBatches(const char* cmd, const char* params, rte_tel_data* d);
};

}  // namespace dpdkts
