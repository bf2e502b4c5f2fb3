// Creations of virtual devices that wait for a peer: a net_virtio_user in server mode blocks in
// accept() inside rte_dev_probe until the vhost-user side connects, for as long as that takes.
// Such a probe runs on a thread of its own and reports to JS through a thread-safe function, so
// the event loop keeps running; cancelling it (a timeout, an AbortSignal, the process exit) shuts
// the listening socket down, which makes DPDK's accept() fail and the probe undo itself; the
// socket file DPDK leaves behind is then removed.
//
// Hotplug is not thread-safe in DPDK: the devargs list has no lock. The creating JS call holds the
// port table's lock until the waiting thread listens (everything it changes in shared lists is
// done by then), and what it does after accept() touches only locked state (ethdev slots,
// memzones, callbacks), so other ports can be created and closed while it waits.
#pragma once

#include <napi.h>

#include <string>

namespace dpdkts {

class VdevWait {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // Non-empty while a creation waits on `path`: the device name, for errors.
  static std::string ServerOf(const std::string& path);
  // Whether a creation of a device named `name` is under way.
  static bool Creating(const std::string& name);
  // How many creations wait (Eal.cleanup refuses to run under them).
  static size_t Count();
  // Throws ENOSPC, naming the limit, when no ethdev slot is left for the device `name`: the ports
  // that exist and the creations that wait (each holds a slot, which rte_eth_dev_count_total does
  // not count until its peer connects) against RTE_MAX_ETHPORTS. Refused here rather than inside
  // the driver's probe, whose failure says only "No space left on device".
  static void CheckRoom(Napi::Env env, const std::string& name, const std::string& op);
  // At exit: cancels every waiting creation and waits (boundedly) for their threads to end.
  static void CancelAll();

 private:
  static Napi::Value Probe(const Napi::CallbackInfo& info);
  static Napi::Value Cancel(const Napi::CallbackInfo& info);
  static Napi::Value DropPeer(const Napi::CallbackInfo& info);
};

}  // namespace dpdkts
