// The one builder of DpdkErrors (MakeError) and the throw helpers over it. A failed DPDK call
// returns an errno at best ("Invalid argument"); the reason is usually in what DPDK logged
// just before, so ThrowDpdk appends the log captured since the call began (log_capture.h).
#include "errors.h"

#include <rte_errno.h>

#include <cstring>

#include "addon.h"
#include "log_capture.h"

namespace dpdkts {

// As Node names system errors in `error.code`; strerrorname_np is glibc's (2.32 and later).
std::string ErrnoName(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "EUNKNOWN";
}

Napi::Error MakeError(Napi::Env env, const std::string& message, const std::string& code,
                      int errnum, const std::string& operation, const std::string& object) {
  Napi::Object details = Napi::Object::New(env);
  details.Set("code", code);
  if (errnum > 0) details.Set("errno", errnum);
  details.Set("operation", operation);
  if (!object.empty()) details.Set("object", object);
  Addon* addon = env.GetInstanceData<Addon>();
  // Before lib/errors.ts has registered DpdkError (a bare require of the .node file), a plain
  // Error with the same code.
  if (addon == nullptr || addon->errorClass.IsEmpty()) {
    Napi::Error plain = Napi::Error::New(env, message);
    plain.Set("code", code);
    return plain;
  }
  Napi::Value error = addon->errorClass.New({Napi::String::New(env, message), details});
  return Napi::Error(env, error);
}

int DpdkErrno(int ret) {
  // DPDK reports failures two ways: a negative errno, or -1 (or NULL) with rte_errno set. -1
  // is also -EPERM, so rte_errno wins when it is set; EIO when neither says anything.
  return ret < -1 ? -ret : (rte_errno > 0 ? rte_errno : (ret < 0 ? -ret : EIO));
}

void ThrowDpdk(Napi::Env env, int ret, const std::string& what, const std::string& operation,
               const std::string& object, size_t logMark) {
  int errnum = DpdkErrno(ret);
  std::string message = what + ": " + rte_strerror(errnum);
  std::string logged = LogCapture::Instance().Since(logMark);
  if (!logged.empty()) message += " (DPDK said: " + logged + ")";
  throw MakeError(env, message, ErrnoName(errnum), errnum, operation, object);
}

void Throw(Napi::Env env, const std::string& code, const std::string& message,
           const std::string& operation, const std::string& object) {
  throw MakeError(env, message, code, 0, operation, object);
}

uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t index, const char* name,
                   const char* operation, uint32_t max) {
  Napi::Value value = info[index];
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    // The round trip through an integer rejects fractions, NaN and infinities.
    if (number >= 0 && number <= max &&
        number == static_cast<double>(static_cast<uint64_t>(number))) {
      return static_cast<uint32_t>(number);
    }
  }
  Throw(info.Env(), "EINVAL",
        std::string(name) + " must be an integer from 0 to " + std::to_string(max) + ", got " +
            value.ToString().Utf8Value(),
        operation);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* name,
                      const char* operation) {
  Napi::Value value = info[index];
  if (!value.IsString()) {
    Throw(info.Env(), "EINVAL", std::string(name) + " must be a string", operation);
  }
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace dpdkts
