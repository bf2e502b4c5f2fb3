// Packet buffer pools (rte_pktmbuf_pool_create) and their memory, which JS sees in place: each
// contiguous range ("chunk") of a pool's memory is one ArrayBuffer, and a packet is named by
// (chunk id, offset), which the burst path computes with one comparison in the common case.
#pragma once

#include <napi.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <string>

namespace dpdkts {

// One contiguous range of a pool's memory, viewed from JS as one ArrayBuffer.
struct ChunkInfo {
  void* addr = nullptr;
  size_t len = 0;
};

// The chunk a caller found last, checked first next time.
struct ChunkHint {
  const char* base = nullptr;
  size_t len = 0;
  uint16_t id = 0;
};

// The chunk id published for a packet outside every pool this addon knows (an external buffer).
static constexpr uint16_t kNoChunk = 0xffff;

class Mempool : public Napi::ObjectWrap<Mempool> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Mempool(const Napi::CallbackInfo& info);

  static bool LookupChunk(uint32_t id, ChunkInfo* out);
  // Maps a packet's data pointer to (chunk, offset); returns false when it lies outside
  // every pool this addon created or looked up (an external buffer). `hint` remembers
  // the last chunk found: consecutive packets almost always share it.
  static bool Locate(const rte_mbuf* mbuf, ChunkHint* hint, uint16_t* chunk, uint32_t* offset) {
    const char* data = rte_pktmbuf_mtod(mbuf, const char*);
    size_t at = reinterpret_cast<uintptr_t>(data) - reinterpret_cast<uintptr_t>(hint->base);
    if (at < hint->len) {
      *chunk = hint->id;
      *offset = static_cast<uint32_t>(at);
      return true;
    }
    return LocateSlow(data, mbuf->pool, hint, chunk, offset);
  }
  static void FreeAll();

  // Ports hold the pools of their rx queues; a pool in use cannot be freed.
  static void AddUser(rte_mempool* mp);
  static void RemoveUser(rte_mempool* mp);

  // Unwraps a JS value that must be a Mempool, or throws EINVAL.
  static Mempool* FromValue(Napi::Env env, Napi::Value value, const char* operation);
  // Counts environments holding a view of chunk `id` (+1 when made, -1 when dropped).
  static void HoldChunk(uint32_t id, int delta);

  rte_mempool* Get(Napi::Env env, const char* operation);
  std::string Describe() const;

 private:
  // Locate for a packet outside the hinted chunk: searches its pool's chunks.
  static bool LocateSlow(const char* data, const rte_mempool* pool, ChunkHint* hint,
                         uint16_t* chunk, uint32_t* offset);

  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Chunks(const Napi::CallbackInfo& info);
  Napi::Value Alloc(const Napi::CallbackInfo& info);
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetDataRoomSize(const Napi::CallbackInfo& info);

  int record_ = -1;  // index in the process-wide pool table
  bool owner_ = false;
  std::string name_;
};

}  // namespace dpdkts
