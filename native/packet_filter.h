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
  // From { table: Int32Array (10 numbers per rule, FilterRule's fields in order), defaultDrop }.
  static std::unique_ptr<PacketFilter> FromValue(Napi::Env env, Napi::Value value, const char* op);

  // The index of the first rule `length` bytes at `data` match, or -1: PacketFilter.match.
  int Match(const uint8_t* data, uint32_t length) const;

  // Counts packet `m` against its rule (or as unmatched) and says whether to drop it. Reads
  // the first segment only, as a Batch's view of a packet does.
  bool Drops(const rte_mbuf* m) {
    int rule = Match(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    FilterCounter& c = rule < 0 ? counters_[rules_.size()] : counters_[rule];
    c.packets.store(c.packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    c.bytes.store(c.bytes.load(std::memory_order_relaxed) + m->pkt_len, std::memory_order_relaxed);
    return rule < 0 ? defaultDrop_ : rules_[rule].drop;
  }

  // [packets, bytes] per rule, then for unmatched packets.
  Napi::Value Stats(Napi::Env env) const;
  void ResetStats();

 private:
  std::vector<FilterRule> rules_;
  std::unique_ptr<FilterCounter[]> counters_;  // one per rule, then unmatched
  bool defaultDrop_ = false;
};

}  // namespace dpdkts
