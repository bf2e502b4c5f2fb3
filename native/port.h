// The JS Port object: one Ethernet port (rte_ethdev) as the SDK's Port class sees it:
// configuration, start/stop, MAC/MTU/promiscuous, link state and its events, stats, and
// hotplug of virtual devices. What is known of each port id process-wide lives in the port
// table (port_table.h); the bursts are plain functions (burst.h), not methods of this object.
#pragma once

#include <napi.h>
#include <rte_ethdev.h>

#include <string>

namespace dpdkts {

class Port : public Napi::ObjectWrap<Port> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Port(const Napi::CallbackInfo& info);
  ~Port();

  // DPDK's link state callback, on its interrupt thread; `arg` is the listener of the Port
  // object that registered it. Public for PortTable::Teardown, which unregisters it for
  // every listener of a port at once.
  static int OnLinkEvent(uint16_t portId, rte_eth_event_type type, void* arg, void* ret);

 private:
  static Napi::Value Probe(const Napi::CallbackInfo& info);
  static Napi::Value List(const Napi::CallbackInfo& info);

  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Configure(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetPromiscuous(const Napi::CallbackInfo& info);
  Napi::Value SetPromiscuous(const Napi::CallbackInfo& info);
  Napi::Value GetMac(const Napi::CallbackInfo& info);
  Napi::Value SetMac(const Napi::CallbackInfo& info);
  Napi::Value GetMtu(const Napi::CallbackInfo& info);
  Napi::Value SetMtu(const Napi::CallbackInfo& info);
  Napi::Value Link(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ResetStats(const Napi::CallbackInfo& info);
  Napi::Value Xstats(const Napi::CallbackInfo& info);
  Napi::Value ResetXstats(const Napi::CallbackInfo& info);
  Napi::Value WatchLink(const Napi::CallbackInfo& info);
  Napi::Value AcquireJs(const Napi::CallbackInfo& info);
  Napi::Value ReleaseJs(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);
  Napi::Value IsStarted(const Napi::CallbackInfo& info);
  Napi::Value GetQueueBase(const Napi::CallbackInfo& info);

  uint16_t Checked(Napi::Env env, const char* operation);
  // Runs `call(portId)`, a DPDK call returning 0 or a negative errno, and throws a failure
  // as a DpdkError carrying `what` and what DPDK logged meanwhile.
  template <typename Call>
  uint16_t Run(Napi::Env env, const char* operation, const std::string& what, Call call);
  void StopWatchingLink();

  uint16_t id_;
  std::string name_;
  uint64_t epoch_;  // the record's epoch when this object attached: a reused id is not ours
  Napi::ThreadSafeFunction linkListener_;
  bool watching_ = false;
};

}  // namespace dpdkts
