// The engine's packet filter: lib/packet-filter.ts's matching (first rule wins; IPv4,
// optionally VLAN-tagged; protocol, prefixes, port ranges) in C, with an action and packet and
// byte counters per rule. lib/engine-filter.ts parses and checks the rules with PacketFilter's
// own parser and hands over a table of numbers once, at creation; the loop reads only that.
#pragma once

#include <napi.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace dpdkts {

// One rule as numbers. A missing protocol is -1; a missing network has mask 0 (and address
// 0); a missing port range is -1..65535, so that it also takes in the -1 that stands for "no
// port" (a packet that is not UDP or TCP, or too short for its ports).
struct FilterRule {
  int32_t protocol;
  uint32_t sourceAddress, sourceMask;
  uint32_t destinationAddress, destinationMask;
  int32_t sourcePortLow, sourcePortHigh;
  int32_t destinationPortLow, destinationPortHigh;
  bool drop;
};

// Packets and bytes one rule matched first; one lcore writes, any thread reads (relaxed).
struct FilterCounter {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
};

class PacketFilter {
 public:
  // From { table: Int32Array (10 numbers per rule, FilterRule's fields in order), defaultDrop,
  // mirrorPort?, mirrorQueue? }.
  static std::unique_ptr<PacketFilter> FromValue(Napi::Env env, Napi::Value value, const char* op);

  // The index of the first rule `length` bytes at `data` match, or -1: PacketFilter.match.
  int Match(const uint8_t* data, uint32_t length) const;

  // Counts packet `m` against its rule (or as unmatched), stages a copy of it for the mirror
  // if a rule matched, and says whether to drop it. Reads the first segment only, as a
  // Batch's view of a packet does.
  bool Drops(rte_mbuf* m) {
    int rule = Match(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    FilterCounter& c = rule < 0 ? counters_[rules_.size()] : counters_[rule];
    c.packets.store(c.packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    c.bytes.store(c.bytes.load(std::memory_order_relaxed) + m->pkt_len, std::memory_order_relaxed);
    if (rule >= 0 && mirrorPort_ >= 0) Stage(m);
    return rule < 0 ? defaultDrop_ : rules_[rule].drop;
  }

  // Sends the copies staged since the last call to the mirror port; frees what it refuses.
  void FlushMirror();

  bool HasMirror() const { return mirrorPort_ >= 0; }
  uint16_t MirrorPort() const { return static_cast<uint16_t>(mirrorPort_); }
  uint16_t MirrorQueue() const { return mirrorQueue_; }

  // [packets, bytes] per rule, then for unmatched packets, then the mirror's [sent, dropped].
  Napi::Value Stats(Napi::Env env) const;
  void ResetStats();

 private:
  void Stage(const rte_mbuf* m);

  static constexpr uint16_t kMaxStaged = 512;  // the engine's largest burst

  std::vector<FilterRule> rules_;
  std::unique_ptr<FilterCounter[]> counters_;  // one per rule, then unmatched
  bool defaultDrop_ = false;
  // The mirror: copies of the packets a rule matched, made from the packet's own pool (a
  // copy, not a second reference: the engine may rewrite the original's MACs next).
  int32_t mirrorPort_ = -1;
  uint16_t mirrorQueue_ = 0;
  rte_mbuf* staged_[kMaxStaged];
  uint16_t stagedCount_ = 0;
  std::atomic<uint64_t> mirrorSent_{0};
  std::atomic<uint64_t> mirrorDropped_{0};  // no mbuf for the copy, or the tx queue refused it
};

}  // namespace dpdkts
