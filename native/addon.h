// The module's per-environment state, as a Napi::Addon: the main thread and each worker
// thread that loads the addon get their own instance (N-API instance data), because JS handles
// (the DpdkError class, views over mempool memory, open batches) are valid in one environment
// only. Process-wide DPDK state lives elsewhere: EAL in eal.cc, pools in mempool.cc, ports in
// port_table.cc.
#pragma once

#include <napi.h>

#include <vector>

namespace dpdkts {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  // The DpdkError class of lib/errors.ts, used by MakeError.
  Napi::FunctionReference errorClass;

  // ArrayBuffers over mempool memory chunks, by global chunk id, made on first use.
  std::vector<Napi::Reference<Napi::ArrayBuffer>> chunkBuffers;
  // Detaches this environment's views of the given chunks, so JS can no longer reach them.
  void DetachChunks(uint32_t first, uint32_t count);
  bool HoldsChunk(uint32_t id) const;
  // Forgets this environment's views without touching them (at its teardown).
  void ReleaseChunks();

  // Open batches of this environment by id: bursts name a batch by its id, which is much
  // cheaper to resolve than unwrapping an object.
  std::vector<class Batch*> batches;

  // Whether this environment is the one that initialized EAL (it then cleans it up at exit).
  bool ownsEal = false;
  // The lcore id this environment's thread registered with rte_thread_register, or -1.
  int registeredLcore = -1;
  // That thread's live counters (a Float64Array over shared memory), held while telemetry
  // reads them (/dpdk_ts/worker).
  Napi::ObjectReference workerCounters;

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
  Napi::Value ChunkBuffer(const Napi::CallbackInfo& info);
  static void Cleanup(void* addon);
};

}  // namespace dpdkts
