// A reusable burst of packets. JS reads and writes the packets' bytes in place through
// views over mempool memory; this object keeps the mbuf pointers and, in one buffer shared
// with JS, the per-packet chunk ids, offsets and lengths. The buffer is shared rather than
// returned so that a burst costs one N-API call and allocates nothing: the addon writes the
// new packets' places straight into typed arrays JS already holds (lib/batch.ts), and reads
// back the lengths JS changed.
#pragma once

#include <napi.h>
#include <rte_mbuf.h>

#include <vector>

#include "addon.h"
#include "mempool.h"

namespace dpdkts {

// The layout of the buffer shared with JS (lib/batch.ts mirrors it).
struct BatchHeader {
  uint32_t count;  // packets held, at indexes 0..count-1
  uint32_t capacity;
  uint32_t generation;  // bumped whenever packets leave the batch, to expire stale handles
  uint32_t unsent;      // packets the last txRxBurst freed instead of sending
};

class Batch : public Napi::ObjectWrap<Batch> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Batch(const Napi::CallbackInfo& info);
  ~Batch();

  // Unwraps a JS value that must be an open Batch, or throws.
  static Batch* FromValue(Napi::Env env, Napi::Value value, const char* operation);
  // The open batch with this id in this environment, or nullptr.
  static Batch* FromId(Addon* addon, uint32_t id);

  uint32_t Count() const { return count_; }
  uint32_t Room() const { return static_cast<uint32_t>(mbufs_.size()) - count_; }
  rte_mbuf** Slots() { return mbufs_.data(); }

  // After rx: records packets [count, count + n) and publishes their views.
  void Received(uint32_t n);
  // Before tx: frees packets marked dropped (length 0), writes JS's lengths back into the
  // mbufs; throws EINVAL (nothing sent or freed) if a length exceeds its buffer, or if a
  // packet allocated without a template still has no length.
  uint32_t PrepareTx(Napi::Env env, const char* operation, uint32_t* dropped);
  // After tx: the first `sent` packets left; the rest move to the front.
  void Sent(uint32_t sent);
  uint32_t AllocFrom(Napi::Env env, rte_mempool* mp, uint32_t count, const uint8_t* bytes,
                     size_t length, const char* operation);
  // Frees the packets from index `from` on (the first `from` left the batch some other way)
  // and empties the batch.
  void FreeAll(uint32_t from = 0);
  void SetUnsent(uint32_t n) {
    if (header_ != nullptr) header_->unsent = n;
  }

 private:
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value DropUnset(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetShared(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);
  void Unregister();

  void Publish(uint32_t from, uint32_t to);
  void MoveDown(uint32_t from, uint32_t to, uint32_t n);
  void SetCount(uint32_t count, bool expire);

  // The mbufs and their count live outside the shared buffer, so that freeing them never
  // depends on the buffer still existing (GC may collect the two in either order).
  std::vector<rte_mbuf*> mbufs_;
  uint32_t count_ = 0;
  ChunkHint chunkHint_;
  BatchHeader* header_ = nullptr;
  uint32_t* offsets_ = nullptr;
  uint16_t* lengths_ = nullptr;
  uint16_t* chunks_ = nullptr;
  // The lengths as the mbufs have them, to tell in one comparison whether JS changed any.
  std::vector<uint16_t> published_;
  // Set when a packet with length 0 (which means "drop" to PrepareTx) may be in the batch.
  bool mayHoldEmpty_ = false;
  // By index: 1 for a packet allocated without a template that JS has not given a length
  // yet (dropping it silently at the send would hide the mistake); all 0 unless
  // mayHoldUnset_. A send that goes ahead clears them: every such packet then has a length.
  std::vector<uint8_t> unset_;
  bool mayHoldUnset_ = false;
  Napi::Reference<Napi::ArrayBuffer> shared_;
  bool closed_ = false;
  Addon* addon_;
  uint32_t id_;

  // /dpdk_ts/batches reads the capacity and count of every open batch.
  friend class Telemetry;
};

}  // namespace dpdkts
