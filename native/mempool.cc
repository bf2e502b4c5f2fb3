// The process-wide pool and chunk tables, and the Mempool object. Tables rather than per-object
// state because worker threads attach to pools by name and the burst path maps packets to
// chunks without a lock; a pool is freed only when no port queue, engine or other thread's
// view still uses its memory.
#include "mempool.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "addon.h"
#include "batch.h"
#include "eal.h"
#include "errors.h"
#include "log_capture.h"

namespace dpdkts {

namespace {

constexpr int kMaxPools = 64;
constexpr uint32_t kMaxChunks = 4096;

// Process-wide tables, shared by every environment (worker threads attach to pools by
// name). Entries are only appended; the hot path reads them without locking.
struct PoolRecord {
  std::atomic<rte_mempool*> mp{nullptr};
  uint32_t firstChunk = 0;
  uint32_t chunkCount = 0;
  std::atomic<int> users{0};
};
PoolRecord g_pools[kMaxPools];
std::atomic<int> g_poolCount{0};
ChunkInfo g_chunks[kMaxChunks];
std::atomic<uint32_t> g_chunkCount{0};
// How many environments hold an ArrayBuffer over each chunk: a pool whose memory another
// thread can still reach must not be freed.
std::atomic<int> g_chunkHolders[kMaxChunks];
// Tags Mempool objects, so that no other wrapped object is taken for one.
constexpr napi_type_tag kMempoolTag = {0x6470646b74736d70ULL, 0x6f6f6c2d74616731ULL};
std::mutex g_mutex;

int FindRecord(const rte_mempool* mp) {
  int count = g_poolCount.load(std::memory_order_acquire);
  for (int i = 0; i < count; i++) {
    if (g_pools[i].mp.load(std::memory_order_relaxed) == mp) return i;
  }
  return -1;
}

void AddChunk(rte_mempool*, void* opaque, rte_mempool_memhdr* memhdr, unsigned) {
  std::vector<ChunkInfo>* chunks = static_cast<std::vector<ChunkInfo>*>(opaque);
  chunks->push_back({memhdr->addr, memhdr->len});
}

// The pool's memory as few ranges as possible: in IOVA-as-PA mode DPDK populates a pool page
// by page, but the pages are adjacent in virtual memory, and one range means packets of the
// pool all lie in one chunk (one view for JS, no chunk search per packet).
std::vector<ChunkInfo> ContiguousChunks(rte_mempool* mp) {
  std::vector<ChunkInfo> pieces;
  rte_mempool_mem_iter(mp, AddChunk, &pieces);
  std::sort(pieces.begin(), pieces.end(),
            [](const ChunkInfo& a, const ChunkInfo& b) { return a.addr < b.addr; });
  std::vector<ChunkInfo> chunks;
  for (const ChunkInfo& piece : pieces) {
    if (!chunks.empty() &&
        static_cast<char*>(chunks.back().addr) + chunks.back().len == piece.addr) {
      chunks.back().len += piece.len;
    } else {
      chunks.push_back(piece);
    }
  }
  return chunks;
}

// Registers a pool (created here or found by name) and its chunks; returns its record.
int Register(Napi::Env env, rte_mempool* mp, const char* op) {
  std::lock_guard<std::mutex> lock(g_mutex);
  int existing = FindRecord(mp);
  if (existing >= 0) return existing;
  std::vector<ChunkInfo> chunks = ContiguousChunks(mp);
  // Records of freed pools are reused; chunk ids are not, as views of them may linger.
  int index = 0;
  int count = g_poolCount.load();
  while (index < count && g_pools[index].mp.load() != nullptr) index++;
  uint32_t first = g_chunkCount.load();
  if (index >= kMaxPools || first + chunks.size() > kMaxChunks) {
    const char* name = mp->name;
    std::string what = std::string(op) == "Mempool.lookup" ? "Cannot attach mempool \""
                                                           : "Cannot create mempool \"";
    if (index >= kMaxPools) {
      Throw(env, "ENOSPC",
            what + name + "\": " + std::to_string(count) +
                " mempools are open, the most one process can hold (" + std::to_string(kMaxPools) +
                "): close a mempool first",
            op, std::string("mempool \"") + name + "\"");
    }
    Throw(env, "ENOSPC",
          what + name + "\": its " + std::to_string(chunks.size()) + " memory chunks and the " +
              std::to_string(first) + " of earlier mempools pass the most one process can hold (" +
              std::to_string(kMaxChunks) + "): close a mempool first",
          op, std::string("mempool \"") + name + "\"");
  }
  for (size_t i = 0; i < chunks.size(); i++) g_chunks[first + i] = chunks[i];
  g_chunkCount.store(first + static_cast<uint32_t>(chunks.size()), std::memory_order_release);
  g_pools[index].firstChunk = first;
  g_pools[index].chunkCount = static_cast<uint32_t>(chunks.size());
  g_pools[index].users = 0;
  g_pools[index].mp.store(mp, std::memory_order_release);
  if (index == count) g_poolCount.store(index + 1, std::memory_order_release);
  return index;
}

void Unregister(int record) {
  std::lock_guard<std::mutex> lock(g_mutex);
  PoolRecord& pool = g_pools[record];
  for (uint32_t i = 0; i < pool.chunkCount; i++) g_chunks[pool.firstChunk + i] = ChunkInfo{};
  pool.mp.store(nullptr, std::memory_order_release);
}

}  // namespace

void Mempool::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor =
      DefineClass(env, "Mempool",
                  {
                      InstanceMethod("close", &Mempool::Close),
                      InstanceMethod("stats", &Mempool::Stats),
                      InstanceMethod("chunks", &Mempool::Chunks),
                      InstanceMethod("alloc", &Mempool::Alloc),
                      InstanceAccessor("name", &Mempool::GetName, nullptr),
                      InstanceAccessor("dataRoomSize", &Mempool::GetDataRoomSize, nullptr),
                  });
  exports.Set("Mempool", ctor);
}

// new Mempool(name, size, cacheSize, dataRoomSize, socket): creates a pool.
// new Mempool(name): attaches to an existing pool by name (e.g. from a worker thread).
Mempool::Mempool(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Mempool>(info) {
  Napi::Env env = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kMempoolTag);
  const char* op = info.Length() > 1 ? "Mempool.create" : "Mempool.lookup";
  Eal::Require(env, op);
  name_ = ArgString(info, 0, "name", op);
  size_t mark = LogCapture::Instance().Mark();
  rte_mempool* mp;
  if (info.Length() > 1) {
    uint32_t size = ArgUint32(info, 1, "size", op);
    uint32_t cacheSize = ArgUint32(info, 2, "cacheSize", op, RTE_MEMPOOL_CACHE_MAX_SIZE);
    uint32_t dataRoomSize = ArgUint32(info, 3, "dataRoomSize", op, UINT16_MAX);
    int socket = info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : SOCKET_ID_ANY;
    mp = rte_pktmbuf_pool_create(name_.c_str(), size, cacheSize, 0,
                                 static_cast<uint16_t>(dataRoomSize), socket);
    if (mp == nullptr)
      ThrowDpdk(env, -1, "Cannot create mempool \"" + name_ + "\"", op, Describe(), mark);
    owner_ = true;
  } else {
    mp = rte_mempool_lookup(name_.c_str());
    if (mp == nullptr) {
      Throw(env, "ENOENT", "No mempool named \"" + name_ + "\"", op, Describe());
    }
  }
  try {
    record_ = Register(env, mp, op);
  } catch (...) {
    if (owner_) rte_mempool_free(mp);
    throw;
  }
}

Mempool* Mempool::FromValue(Napi::Env env, Napi::Value value, const char* operation) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kMempoolTag)) {
    Throw(env, "EINVAL", "Expected a Mempool", operation);
  }
  return Napi::ObjectWrap<Mempool>::Unwrap(value.As<Napi::Object>());
}

void Mempool::HoldChunk(uint32_t id, int delta) {
  if (id < kMaxChunks) g_chunkHolders[id] += delta;
}

std::string Mempool::Describe() const { return "mempool \"" + name_ + "\""; }

rte_mempool* Mempool::Get(Napi::Env env, const char* operation) {
  Eal::Require(env, operation);
  rte_mempool* mp = record_ >= 0 ? g_pools[record_].mp.load() : nullptr;
  if (mp == nullptr) Throw(env, "ERR_CLOSED", "Mempool is closed", operation, Describe());
  return mp;
}

bool Mempool::LookupChunk(uint32_t id, ChunkInfo* out) {
  if (id >= g_chunkCount.load(std::memory_order_acquire)) return false;
  *out = g_chunks[id];
  return out->addr != nullptr;
}

bool Mempool::LocateSlow(const char* data, const rte_mempool* mp, ChunkHint* hint, uint16_t* chunk,
                         uint32_t* offset) {
  int record = FindRecord(mp);
  if (record < 0) return false;
  const PoolRecord& pool = g_pools[record];
  for (uint32_t i = 0; i < pool.chunkCount; i++) {
    const ChunkInfo& c = g_chunks[pool.firstChunk + i];
    const char* base = static_cast<const char*>(c.addr);
    if (data >= base && data < base + c.len) {
      hint->base = base;
      hint->len = c.len;
      hint->id = static_cast<uint16_t>(pool.firstChunk + i);
      *chunk = hint->id;
      *offset = static_cast<uint32_t>(data - base);
      return true;
    }
  }
  return false;
}

void Mempool::AddUser(rte_mempool* mp) {
  int record = FindRecord(mp);
  if (record >= 0) g_pools[record].users++;
}

void Mempool::RemoveUser(rte_mempool* mp) {
  int record = FindRecord(mp);
  if (record >= 0) g_pools[record].users--;
}

void Mempool::FreeAll() {
  int count = g_poolCount.load();
  for (int i = 0; i < count; i++) {
    rte_mempool* mp = g_pools[i].mp.load();
    if (mp == nullptr) continue;
    Unregister(i);
    rte_mempool_free(mp);
  }
}

Napi::Value Mempool::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Mempool.close";
  if (record_ < 0 || !Eal::Running()) return env.Undefined();
  rte_mempool* mp = g_pools[record_].mp.load();
  if (mp == nullptr) return env.Undefined();
  // A pool found by name belongs to whoever created it: closing this handle only forgets it.
  if (!owner_) {
    record_ = -1;
    return env.Undefined();
  }
  int users = g_pools[record_].users.load();
  if (users > 0) {
    Throw(env, "EBUSY",
          "Mempool \"" + name_ + "\" is used by " + std::to_string(users) +
              " port queue(s) or engine(s): close those ports and engines first",
          op, Describe());
  }
  unsigned int inUse = rte_mempool_in_use_count(mp);
  if (inUse > 0) {
    Throw(env, "EBUSY",
          "Mempool \"" + name_ + "\" has " + std::to_string(inUse) +
              " mbufs in use: free or send the batches holding them first",
          op, Describe());
  }
  PoolRecord& pool = g_pools[record_];
  Addon* addon = env.GetInstanceData<Addon>();
  for (uint32_t id = pool.firstChunk; id < pool.firstChunk + pool.chunkCount; id++) {
    if (g_chunkHolders[id].load() > (addon->HoldsChunk(id) ? 1 : 0)) {
      Throw(env, "EBUSY",
            "Mempool \"" + name_ +
                "\" is still reachable from another thread (an lcore worker "
                "holds views of its memory): stop that thread first",
            op, Describe());
    }
  }
  addon->DetachChunks(pool.firstChunk, pool.chunkCount);
  Unregister(record_);
  rte_mempool_free(mp);
  record_ = -1;
  return env.Undefined();
}

Napi::Value Mempool::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_mempool* mp = Get(env, "Mempool.stats");
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("size", mp->size);
  stats.Set("available", rte_mempool_avail_count(mp));
  stats.Set("inUse", rte_mempool_in_use_count(mp));
  return stats;
}

Napi::Value Mempool::Chunks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Get(env, "Mempool.chunks");
  const PoolRecord& pool = g_pools[record_];
  Napi::Array ids = Napi::Array::New(env, pool.chunkCount);
  for (uint32_t i = 0; i < pool.chunkCount; i++) ids.Set(i, pool.firstChunk + i);
  return ids;
}

// alloc(batch, count, template?): appends `count` packets to the batch, each holding a copy
// of `template` (or empty). All or nothing: returns 0 when the pool has too few mbufs.
Napi::Value Mempool::Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Mempool.alloc";
  rte_mempool* mp = Get(env, op);
  Batch* batch = Batch::FromValue(env, info[0], op);
  uint32_t count = ArgUint32(info, 1, "count", op);
  const uint8_t* bytes = nullptr;
  size_t length = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsTypedArray()) Throw(env, "EINVAL", "template must be a Uint8Array", op);
    Napi::Uint8Array tpl = info[2].As<Napi::Uint8Array>();
    bytes = tpl.Data();
    length = tpl.ByteLength();
  }
  uint16_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
  if (length > room) {
    Throw(env, "EINVAL",
          "template is " + std::to_string(length) + " bytes but mempool \"" + name_ +
              "\" holds at most " + std::to_string(room) + " bytes per packet",
          op, Describe());
  }
  return Napi::Number::New(env, batch->AllocFrom(env, mp, count, bytes, length, op));
}

Napi::Value Mempool::GetName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), name_);
}

Napi::Value Mempool::GetDataRoomSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           rte_pktmbuf_data_room_size(Get(info.Env(), "Mempool.dataRoomSize")));
}

}  // namespace dpdkts
