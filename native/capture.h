// Packet capture to pcapng (Port.capture): copies of what a port receives and/or sends,
// written to a file. The copies are taken by ethdev rx/tx callbacks (rte_eth_add_rx_callback),
// so that every path that bursts on the port is seen in one place (TypeScript bursts, lcore
// workers, native engines, an engine filter's mirror) and a port that is not captured pays
// nothing more than the callback-pointer check rte_eth_rx_burst makes anyway. The callbacks
// only copy (rte_pcapng_copy) into a ring; a writer thread of this object (not an lcore, not
// the JS thread) empties the ring into the file (rte_pcapng_write_packets), so that a slow disk
// never blocks a poller: when the ring is full, copies are counted as dropped instead.
#pragma once

#include <napi.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "packet_filter.h"

struct rte_pcapng;  // rte_pcapng.h is experimental API: only capture.cc includes it

namespace dpdkts {

class Capture : public Napi::ObjectWrap<Capture> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new Capture(portId, path, { rx, tx, snapLength, packetLimit, filter? })
  explicit Capture(const Napi::CallbackInfo& info);
  ~Capture();

  // Detaches every capture of port `id` from it: called before the port is closed.
  static void DetachPort(uint16_t id);
  // Finishes every capture's file (EAL shutdown).
  static void StopAll();

  // The callbacks, on whichever thread bursts; `tap` is the port's Tap for that direction.
  static uint16_t OnRx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t max,
                       void* tap);
  static uint16_t OnTx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* tap);

  // Copies what the filter and the limit let through into the ring; `direction` is an
  // rte_pcapng_direction. Called by the callbacks through the port's tap.
  void Take(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, int direction);

 private:
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void Enqueue(rte_mbuf** copies, uint16_t n);
  void Detach();
  // Detaches, lets the writer empty the ring, closes the file and frees the ring and pool.
  void Finish();
  void WriterLoop();

  uint16_t port_;
  std::string path_;
  bool rx_ = false, tx_ = false;
  uint32_t snapLength_ = 0;
  uint64_t packetLimit_ = 0;  // 0: none
  std::unique_ptr<PacketFilter> filter_;
  // Callbacks added, one per queue and direction, removed by Detach.
  std::vector<const rte_eth_rxtx_callback*> rxCallbacks_, txCallbacks_;
  rte_mempool* pool_ = nullptr;
  rte_ring* ring_ = nullptr;
  rte_pcapng* pcapng_ = nullptr;
  std::thread writer_;
  std::atomic<bool> stopWriter_{false};
  bool attached_ = false;
  bool finished_ = false;
  // Packets the callbacks took so far against packetLimit (captured or dropped).
  std::atomic<uint64_t> taken_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> filteredOut_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<int> writeError_{0};  // the first write's errno
};

}  // namespace dpdkts
