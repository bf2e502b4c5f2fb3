// The Environment Abstraction Layer: rte_eal_init once per process (DPDK cannot be
// initialized twice, nor again after rte_eal_cleanup: the state only moves forward), lcores,
// the registration of worker threads, and shutdown. Shutdown happens once, from Eal.cleanup,
// the process 'exit' hook or the owning environment's teardown, and leaves DPDK's memory in
// place at exit while another thread may still poll it.
#pragma once

#include <napi.h>

#include <string>

namespace dpdkts {

class Addon;

class Eal {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // Throws ERR_EAL_NOT_INITIALIZED / ERR_EAL_CLEANED_UP unless EAL is running.
  static void Require(Napi::Env env, const char* operation);
  static bool Running();

  // Stops engines, closes ports and pools, then rte_eal_cleanup. Safe to call twice.
  // `atExit`: the process is ending; worker threads (lib/lcore.ts has just terminated them)
  // get a moment to leave, and DPDK is left alone if some still use it.
  static void Shutdown(bool atExit);
  static void UnregisterThread(Addon* addon);

 private:
  static Napi::Value InitEal(const Napi::CallbackInfo& info);
  static Napi::Value Cleanup(const Napi::CallbackInfo& info);
  static Napi::Value State(const Napi::CallbackInfo& info);
  static Napi::Value Versions(const Napi::CallbackInfo& info);
  static Napi::Value Lcores(const Napi::CallbackInfo& info);
  static Napi::Value RegisterThread(const Napi::CallbackInfo& info);
  static Napi::Value UnregisterThreadJs(const Napi::CallbackInfo& info);
  static Napi::Value SetLogEcho(const Napi::CallbackInfo& info);
  static Napi::Value LogMark(const Napi::CallbackInfo& info);
  static Napi::Value LogText(const Napi::CallbackInfo& info);
  static Napi::Value ThreadAffinity(const Napi::CallbackInfo& info);
  static Napi::Value YieldCpu(const Napi::CallbackInfo& info);
};

}  // namespace dpdkts
