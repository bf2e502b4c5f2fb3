// PacketFilter: see packet_filter.h. Match() follows lib/packet-filter.ts line for line, so
// that a rule matches the same packets in an engine as in a TypeScript loop, down to the odd
// cases (a header length below 20, ports read from any fragment).
#include "packet_filter.h"

#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include <cstring>
#include <string>

#include "errors.h"

namespace dpdkts {

namespace {

constexpr uint32_t kRuleWords = 10;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr int32_t kProtoTcp = 6;
constexpr int32_t kProtoUdp = 17;

uint16_t Be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return rte_be_to_cpu_16(v);
}

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

uint32_t Be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return rte_be_to_cpu_32(v);
}

}  // namespace

std::unique_ptr<PacketFilter> PacketFilter::FromValue(Napi::Env env, Napi::Value value,
                                                      const char* op) {
  Napi::Value table = value.IsObject() ? value.As<Napi::Object>().Get("table") : env.Undefined();
  if (!table.IsTypedArray() || table.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      table.As<Napi::Int32Array>().ElementLength() % kRuleWords != 0) {
    Throw(env, "EINVAL", "filter.table must be an Int32Array of 10 numbers per rule", op);
  }
  Napi::Int32Array words = table.As<Napi::Int32Array>();
  auto filter = std::make_unique<PacketFilter>();
  for (size_t i = 0; i < words.ElementLength(); i += kRuleWords) {
    const int32_t* w = words.Data() + i;
    filter->rules_.push_back({w[0], static_cast<uint32_t>(w[1]), static_cast<uint32_t>(w[2]),
                              static_cast<uint32_t>(w[3]), static_cast<uint32_t>(w[4]), w[5], w[6],
                              w[7], w[8], w[9] != 0});
  }
  filter->counters_ = std::make_unique<FilterCounter[]>(filter->rules_.size() + 1);
  Napi::Object o = value.As<Napi::Object>();
  filter->defaultDrop_ = o.Get("defaultDrop").ToBoolean().Value();
  Napi::Value mirror = o.Get("mirrorPort");
  if (mirror.IsNumber()) {
    uint32_t port = mirror.As<Napi::Number>().Uint32Value();
    if (!rte_eth_dev_is_valid_port(port)) {
      Throw(env, "ENODEV", "the filter's mirror port " + std::to_string(port) + " does not exist",
            op);
    }
    filter->mirrorPort_ = static_cast<int32_t>(port);
    filter->mirrorQueue_ = static_cast<uint16_t>(o.Get("mirrorQueue").ToNumber().Uint32Value());
  }
  return filter;
}

int PacketFilter::Match(const uint8_t* data, uint32_t length) const {
  // Shorter than an Ethernet and an IPv4 header: PacketFilter reads the EtherType but then
  // finds no room for the IPv4 header, whatever the EtherType was. Longer, a VLAN tag's
  // 18 bytes (PacketFilter's condition for reading past it) are there.
  if (length < 14 + 20) return -1;
  uint32_t l3 = 14;
  uint16_t etherType = Be16(data + 12);
  if (etherType == kEtherTypeVlan) {
    etherType = Be16(data + 16);
    l3 += 4;
  }
  if (etherType != kEtherTypeIpv4 || l3 + 20 > length) return -1;
  uint32_t headerLength = (data[l3] & 15) * 4;
  int32_t protocol = data[l3 + 9];
  uint32_t source = Be32(data + l3 + 12);
  uint32_t destination = Be32(data + l3 + 16);
  uint32_t l4 = l3 + headerLength;
  bool hasPorts = (protocol == kProtoUdp || protocol == kProtoTcp) && l4 + 4 <= length;
  int32_t sourcePort = hasPorts ? Be16(data + l4) : -1;
  int32_t destinationPort = hasPorts ? Be16(data + l4 + 2) : -1;
  for (size_t i = 0; i < rules_.size(); i++) {
    const FilterRule& r = rules_[i];
    if (r.protocol >= 0 && r.protocol != protocol) continue;
    if ((source & r.sourceMask) != r.sourceAddress) continue;
    if ((destination & r.destinationMask) != r.destinationAddress) continue;
    if (sourcePort < r.sourcePortLow || sourcePort > r.sourcePortHigh) continue;
    if (destinationPort < r.destinationPortLow || destinationPort > r.destinationPortHigh) continue;
    return static_cast<int>(i);
  }
  return -1;
}

void PacketFilter::Stage(const rte_mbuf* m) {
  rte_mbuf* copy =
      stagedCount_ < kMaxStaged ? rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX) : nullptr;
  if (copy == nullptr) {
    Add(mirrorDropped_, 1);
    return;
  }
  staged_[stagedCount_++] = copy;
}

void PacketFilter::FlushMirror() {
  if (stagedCount_ == 0) return;
  uint16_t sent = rte_eth_tx_burst(MirrorPort(), mirrorQueue_, staged_, stagedCount_);
  Add(mirrorSent_, sent);
  if (sent < stagedCount_) {
    rte_pktmbuf_free_bulk(staged_ + sent, stagedCount_ - sent);
    Add(mirrorDropped_, stagedCount_ - sent);
  }
  stagedCount_ = 0;
}

Napi::Value PacketFilter::Stats(Napi::Env env) const {
  size_t n = rules_.size() + 1;
  Napi::Float64Array result = Napi::Float64Array::New(env, 2 * n + 2);
  for (size_t i = 0; i < n; i++) {
    result[2 * i] = static_cast<double>(counters_[i].packets.load(std::memory_order_relaxed));
    result[2 * i + 1] = static_cast<double>(counters_[i].bytes.load(std::memory_order_relaxed));
  }
  result[2 * n] = static_cast<double>(mirrorSent_.load(std::memory_order_relaxed));
  result[2 * n + 1] = static_cast<double>(mirrorDropped_.load(std::memory_order_relaxed));
  return result;
}

void PacketFilter::ResetStats() {
  for (size_t i = 0; i <= rules_.size(); i++) {
    counters_[i].packets = 0;
    counters_[i].bytes = 0;
  }
  mirrorSent_ = 0;
  mirrorDropped_ = 0;
}

}  // namespace dpdkts
