// Ethernet ports (rte_ethdev): configuration, start/stop, bursts, stats, hotplug of vdevs.
#pragma once

#include <napi.h>
#include <rte_ethdev.h>

#include <string>

namespace dpdkts {

class Addon;

class Port : public Napi::ObjectWrap<Port> {
 public:
  // The burst callbacks get `addon` as their data: their batches are this environment's.
  static void Init(Napi::Env env, Napi::Object exports, Addon* addon);
  explicit Port(const Napi::CallbackInfo& info);
  ~Port();

  // Stops and closes every port, unplugging the ones created at runtime (EAL shutdown).
  static void CloseAll();
  // Engines and lcore workers mark the ports they poll, so they cannot be stopped under them.
  static bool Acquire(uint16_t portId);
  static void Release(uint16_t portId);
  static bool Started(uint16_t portId);
  static uint16_t RxQueues(uint16_t portId);
  static uint16_t TxQueues(uint16_t portId);
  static std::string Describe(uint16_t portId);

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

 public:
  static int OnLinkEvent(uint16_t portId, rte_eth_event_type type, void* arg, void* ret);

 private:
  uint16_t id_;
  std::string name_;
  uint64_t epoch_;  // the record's epoch when this object attached: a reused id is not ours
  Napi::ThreadSafeFunction linkListener_;
  bool watching_ = false;
};

}  // namespace dpdkts
