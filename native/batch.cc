// Batch: the shared buffer's layout and lifetime, and the per-packet loops of the burst path
// (publishing received packets, applying JS's lengths and drops before a send, compacting
// after a partial send). The loops are written for the common case: nothing changed.
#include "batch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "addon.h"
#include "eal.h"
#include "errors.h"
#include "mempool.h"
#include "telemetry.h"

namespace dpdkts {

namespace {
// The bound lib/batch.ts checks too; well within the uint16_t counts DPDK's bursts take.
constexpr uint32_t kMaxCapacity = 4096;
// Tags Batch objects so that FromValue can check a value cheaply (instanceof is slow).
constexpr napi_type_tag kBatchTag = {0x6470646b74736261ULL, 0x7463682d74616731ULL};

size_t SharedSize(uint32_t capacity) {
  return sizeof(BatchHeader) + capacity * (sizeof(uint32_t) + 2 * sizeof(uint16_t));
}
}  // namespace

void Batch::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Batch",
                                    {
                                        InstanceMethod("free", &Batch::Free),
                                        InstanceMethod("close", &Batch::Close),
                                        InstanceMethod("dropUnset", &Batch::DropUnset),
                                        InstanceAccessor("shared", &Batch::GetShared, nullptr),
                                        InstanceAccessor("id", &Batch::GetId, nullptr),
                                    });
  exports.Set("Batch", ctor);
}

Batch::Batch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Batch>(info) {
  Napi::Env env = info.Env();
  uint32_t capacity = ArgUint32(info, 0, "capacity", "new Batch", kMaxCapacity);
  if (capacity == 0) Throw(env, "EINVAL", "capacity must be from 1 to 4096, got 0", "new Batch");
  mbufs_.assign(capacity, nullptr);
  published_.assign(capacity, 0);
  unset_.assign(capacity, 0);
  size_t size = SharedSize(capacity);
  void* memory = std::calloc(1, size);
  if (memory == nullptr) Throw(env, "ENOMEM", "Cannot allocate a batch", "new Batch");
  // The ArrayBuffer owns the memory (freed when it is collected); this object keeps it
  // alive with a strong reference, and detaches it on close so JS views turn empty.
  Napi::ArrayBuffer buffer =
      Napi::ArrayBuffer::New(env, memory, size, [](Napi::Env, void* data) { std::free(data); });
  shared_ = Napi::Persistent(buffer);
  char* base = static_cast<char*>(memory);
  header_ = reinterpret_cast<BatchHeader*>(base);
  offsets_ = reinterpret_cast<uint32_t*>(base + sizeof(BatchHeader));
  lengths_ = reinterpret_cast<uint16_t*>(offsets_ + capacity);
  chunks_ = lengths_ + capacity;
  header_->capacity = capacity;
  info.This().As<Napi::Object>().TypeTag(&kBatchTag);
  addon_ = env.GetInstanceData<Addon>();
  // The lowest free id, so that the table bursts index stays as small as the open batches.
  std::vector<Batch*>& batches = addon_->batches;
  id_ = 0;
  while (id_ < batches.size() && batches[id_] != nullptr) id_++;
  if (id_ == batches.size()) batches.push_back(nullptr);
  batches[id_] = this;
  Telemetry::AddBatch(this);
}

void Batch::Unregister() {
  Telemetry::RemoveBatch(this);
  if (addon_ != nullptr && id_ < addon_->batches.size() && addon_->batches[id_] == this) {
    addon_->batches[id_] = nullptr;
  }
  addon_ = nullptr;
}

Batch* Batch::FromId(Addon* addon, uint32_t id) {
  return id < addon->batches.size() ? addon->batches[id] : nullptr;
}

Napi::Value Batch::GetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_);
}

Batch::~Batch() {
  header_ = nullptr;  // the shared buffer may already be collected
  FreeAll();
  Unregister();
}

Batch* Batch::FromValue(Napi::Env env, Napi::Value value, const char* operation) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kBatchTag)) {
    Throw(env, "EINVAL", "Expected a Batch", operation);
  }
  Batch* batch = Napi::ObjectWrap<Batch>::Unwrap(value.As<Napi::Object>());
  if (batch->closed_) Throw(env, "ERR_CLOSED", "Batch is closed", operation);
  return batch;
}

void Batch::Publish(uint32_t from, uint32_t to) {
  // Members in locals: the stores below may alias them as far as the compiler knows, and
  // reloading them for every packet cost more than the rest of the loop.
  rte_mbuf** mbufs = mbufs_.data();
  uint32_t* offsets = offsets_;
  uint16_t* lengths = lengths_;
  uint16_t* chunks = chunks_;
  uint16_t* published = published_.data();
  ChunkHint hint = chunkHint_;
  bool anyEmpty = false;
  for (uint32_t i = from; i < to; i++) {
    rte_mbuf* m = mbufs[i];
    uint16_t chunk;
    uint32_t offset;
    if (!Mempool::Locate(m, &hint, &chunk, &offset)) {
      chunk = kNoChunk;
      offset = 0;
    }
    chunks[i] = chunk;
    offsets[i] = offset;
    uint16_t length = m->data_len;
    lengths[i] = length;
    published[i] = length;
    anyEmpty |= length == 0;
  }
  chunkHint_ = hint;
  if (anyEmpty) mayHoldEmpty_ = true;
}

void Batch::SetCount(uint32_t count, bool expire) {
  count_ = count;
  if (count == 0) {
    mayHoldEmpty_ = false;
    if (mayHoldUnset_) std::fill(unset_.begin(), unset_.end(), 0);
    mayHoldUnset_ = false;
  }
  if (header_ == nullptr) return;
  header_->count = count;
  if (expire) header_->generation++;
}

void Batch::Received(uint32_t n) {
  uint32_t from = count_;
  Publish(from, from + n);
  SetCount(from + n, false);
}

uint32_t Batch::PrepareTx(Napi::Env env, const char* operation, uint32_t* dropped) {
  uint32_t count = count_;
  *dropped = 0;
  // The common case: JS changed no length, so the mbufs are already right and none is dropped.
  if (!mayHoldEmpty_ && std::memcmp(lengths_, published_.data(), count * sizeof(uint16_t)) == 0)
    return count;
  uint32_t zeroLength = 0;
  for (uint32_t i = 0; i < count; i++) {
    rte_mbuf* m = mbufs_[i];
    uint16_t length = lengths_[i];
    if (length == 0) {
      if (mayHoldUnset_ && unset_[i] != 0) {
        Throw(env, "EINVAL",
              "packet " + std::to_string(i) +
                  " has length 0: it was allocated without a template and its length never "
                  "set. Write its bytes and set batch.lengths[" +
                  std::to_string(i) + "] (PacketHandle.write does both), or call batch.drop(" +
                  std::to_string(i) + ") to free it; nothing was sent",
              operation);
      }
      zeroLength++;
      continue;
    }
    uint32_t room = m->buf_len - m->data_off;
    if (length > room) {
      // Lengths already written back stay consistent with the shared array; nothing is
      // sent or freed.
      Throw(env, "EINVAL",
            "packet " + std::to_string(i) + " has length " + std::to_string(length) +
                " but its buffer holds at most " + std::to_string(room) + " bytes",
            operation);
    }
    m->pkt_len = m->pkt_len - m->data_len + length;
    m->data_len = length;
    published_[i] = length;
  }
  *dropped = zeroLength;
  mayHoldEmpty_ = false;
  if (mayHoldUnset_) std::fill(unset_.begin(), unset_.end(), 0);
  mayHoldUnset_ = false;
  if (zeroLength == 0) return count;
  // Free the dropped packets and close the gaps, keeping the order JS sees.
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count; i++) {
    rte_mbuf* m = mbufs_[i];
    if (lengths_[i] == 0) {
      rte_pktmbuf_free(m);
      continue;
    }
    if (kept != i) {
      mbufs_[kept] = m;
      offsets_[kept] = offsets_[i];
      lengths_[kept] = lengths_[i];
      published_[kept] = published_[i];
      chunks_[kept] = chunks_[i];
    }
    kept++;
  }
  SetCount(kept, true);
  return kept;
}

void Batch::MoveDown(uint32_t from, uint32_t to, uint32_t n) {
  std::memmove(&mbufs_[to], &mbufs_[from], n * sizeof(rte_mbuf*));
  std::memmove(&offsets_[to], &offsets_[from], n * sizeof(uint32_t));
  std::memmove(&lengths_[to], &lengths_[from], n * sizeof(uint16_t));
  std::memmove(&chunks_[to], &chunks_[from], n * sizeof(uint16_t));
  std::memmove(&published_[to], &published_[from], n * sizeof(uint16_t));
}

void Batch::Sent(uint32_t sent) {
  uint32_t left = count_ - sent;
  if (sent > 0 && left > 0) MoveDown(sent, 0, left);
  SetCount(left, true);
}

uint32_t Batch::AllocFrom(Napi::Env env, rte_mempool* mp, uint32_t count, const uint8_t* bytes,
                          size_t length, const char* operation) {
  if (count > Room()) {
    Throw(env, "EINVAL",
          "count " + std::to_string(count) + " exceeds the batch's free room of " +
              std::to_string(Room()) + " packets",
          operation);
  }
  if (count == 0) return 0;
  rte_mbuf** slots = &mbufs_[count_];
  // All or nothing: rte_pktmbuf_alloc_bulk takes no mbuf when it cannot take them all.
  if (rte_pktmbuf_alloc_bulk(mp, slots, count) != 0) return 0;
  for (uint32_t i = 0; i < count; i++) {
    rte_mbuf* m = slots[i];
    if (length > 0) std::memcpy(rte_pktmbuf_mtod(m, void*), bytes, length);
    m->data_len = static_cast<uint16_t>(length);
    m->pkt_len = static_cast<uint32_t>(length);
  }
  if (length == 0) {
    std::fill(unset_.begin() + count_, unset_.begin() + count_ + count, 1);
    mayHoldUnset_ = true;
  }
  Received(count);
  return count;
}

void Batch::FreeAll(uint32_t from) {
  // After Eal.cleanup the pools are gone, and with them every mbuf.
  if (count_ > from && Eal::Running()) rte_pktmbuf_free_bulk(mbufs_.data() + from, count_ - from);
  SetCount(0, true);
}

Napi::Value Batch::Free(const Napi::CallbackInfo& info) {
  if (closed_) Throw(info.Env(), "ERR_CLOSED", "Batch is closed", "Batch.free");
  FreeAll();
  return info.Env().Undefined();
}

// dropUnset(i): batch.drop(i) of a packet whose length is already 0, so that a packet
// allocated without a template and never given a length can still be dropped. Called only in
// that case: not once per packet.
Napi::Value Batch::DropUnset(const Napi::CallbackInfo& info) {
  uint32_t i = ArgUint32(info, 0, "packet index", "Batch.drop");
  if (i < count_) unset_[i] = 0;
  return info.Env().Undefined();
}

Napi::Value Batch::Close(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Undefined();
  FreeAll();
  closed_ = true;
  Unregister();
  Napi::ArrayBuffer buffer = shared_.Value();
  header_ = nullptr;
  if (!buffer.IsDetached()) buffer.Detach();
  shared_.Reset();
  return info.Env().Undefined();
}

Napi::Value Batch::GetShared(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Null();
  return shared_.Value();
}

}  // namespace dpdkts
