// The module's entry point (NODE_API_ADDON): builds each environment's exports from every
// native object's Init, and the per-environment state of addon.h. An environment's views of
// mempool memory are counted in mempool.cc, so that a pool another thread can still reach is
// never freed; this file keeps those counts right as views are made, detached and dropped.
#include "addon.h"

#include "batch.h"
#include "burst.h"
#include "capture.h"
#include "eal.h"
#include "engine.h"
#include "errors.h"
#include "mempool.h"
#include "port.h"
#include "vdev_wait.h"

namespace dpdkts {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
                           InstanceMethod("setErrorClass", &Addon::SetErrorClass),
                           InstanceMethod("chunkBuffer", &Addon::ChunkBuffer),
                       });
  Eal::Init(env, exports);
  Mempool::Init(env, exports);
  Port::Init(env, exports);
  VdevWait::Init(env, exports);
  InitBursts(env, exports, this);
  Batch::Init(env, exports);
  Engine::Init(env, exports);
  Capture::Init(env, exports);
  // Runs when the environment ends (a worker thread exits, or the main thread at process
  // exit), before instance data is deleted.
  napi_add_env_cleanup_hook(env, &Addon::Cleanup, this);
}

// The environment's last step, after the finalizers of its objects (batches free their
// mbufs there): only now may the exit (Eal::Shutdown) count its thread as gone.
Addon::~Addon() {
  ReleaseChunks();
  Eal::UnregisterThread(this);
}

void Addon::ReleaseChunks() {
  for (uint32_t id = 0; id < chunkBuffers.size(); id++) {
    if (chunkBuffers[id].IsEmpty()) continue;
    chunkBuffers[id].Reset();
    Mempool::HoldChunk(id, -1);
  }
}

bool Addon::HoldsChunk(uint32_t id) const {
  return id < chunkBuffers.size() && !chunkBuffers[id].IsEmpty();
}

void Addon::Cleanup(void* data) {
  Addon* addon = static_cast<Addon*>(data);
  // The environment's views die with it (no JS runs anymore, and no handle can be made
  // here to detach them): they just stop holding the chunks.
  addon->ReleaseChunks();
  if (addon->ownsEal) Eal::Shutdown(true);
}

Napi::Value Addon::SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    Throw(info.Env(), "EINVAL", "setErrorClass expects the DpdkError class", "setErrorClass");
  }
  errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Addon::ChunkBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgUint32(info, 0, "chunk id", "chunkBuffer");
  ChunkInfo chunk;
  if (!Mempool::LookupChunk(id, &chunk)) {
    Throw(env, "ERR_CLOSED", "Mempool memory chunk " + std::to_string(id) + " was freed",
          "chunkBuffer");
  }
  if (chunkBuffers.size() <= id) chunkBuffers.resize(id + 1);
  if (chunkBuffers[id].IsEmpty()) {
    // DPDK owns this memory; the view must never free it. Mempool::Free detaches it.
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, chunk.addr, chunk.len);
    chunkBuffers[id] = Napi::Persistent(buffer);
    Mempool::HoldChunk(id, +1);
  }
  return chunkBuffers[id].Value();
}

void Addon::DetachChunks(uint32_t first, uint32_t count) {
  for (uint32_t id = first; id < first + count && id < chunkBuffers.size(); id++) {
    if (chunkBuffers[id].IsEmpty()) continue;
    Napi::ArrayBuffer buffer = chunkBuffers[id].Value();
    if (!buffer.IsDetached()) buffer.Detach();
    chunkBuffers[id].Reset();
    Mempool::HoldChunk(id, -1);
  }
}

}  // namespace dpdkts

using dpdkts::Addon;
NODE_API_ADDON(Addon)
