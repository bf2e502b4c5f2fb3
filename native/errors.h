// Shared helpers of the native layer: DpdkError construction and argument checks. Every
// native failure becomes a DpdkError with a code, an operation and an object, so JS sees one
// error type whether a check failed in lib/ or in the addon.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace dpdkts {

// Builds a JS DpdkError (the class lib/errors.ts registers through setErrorClass) carrying
// `code`, `errno`, `operation` and `object`. `errnum` is a positive errno or 0.
Napi::Error MakeError(Napi::Env env, const std::string& message, const std::string& code,
                      int errnum, const std::string& operation, const std::string& object);

// The errno a failed DPDK call reports through its result `ret` or, on the calling thread,
// rte_errno (see ThrowDpdk).
int DpdkErrno(int ret);

// Throws a DpdkError for a failed DPDK call returning a negative errno (or -1 with
// rte_errno set). Appends what DPDK logged since `logMark` so the reason is never lost.
[[noreturn]] void ThrowDpdk(Napi::Env env, int ret, const std::string& what,
                            const std::string& operation, const std::string& object,
                            size_t logMark);

// Throws a DpdkError with a code of the SDK itself (ERR_CLOSED, EINVAL, ...).
[[noreturn]] void Throw(Napi::Env env, const std::string& code, const std::string& message,
                        const std::string& operation, const std::string& object = "");

// The errno name of a positive errno ("EINVAL"), or "EUNKNOWN".
std::string ErrnoName(int errnum);

// Argument readers: throw EINVAL naming the argument and what is expected.
uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t index, const char* name,
                   const char* operation, uint32_t max = UINT32_MAX);
std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* name,
                      const char* operation);

}  // namespace dpdkts
