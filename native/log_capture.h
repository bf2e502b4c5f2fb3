// Captures what DPDK logs, so that failures can carry the reason DPDK gave: DPDK reports most
// failures as a bare errno and explains them only in its log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace dpdkts {

// A process-wide tail of DPDK's log. DPDK writes through a FILE* made with fopencookie;
// every line is kept (up to kCapacity bytes, oldest dropped) and optionally echoed to stderr.
class LogCapture {
 public:
  static LogCapture& Instance();

  // The FILE* to hand to rte_openlog_stream.
  FILE* Stream();
  void SetEcho(bool echo);
  bool Echo();

  // A position in the log; Since(mark) returns the text logged after it, trimmed.
  size_t Mark();
  std::string Since(size_t mark);
  // The raw text logged from `mark` up to `end` (another mark; default: now), newlines kept.
  std::string Text(size_t mark, size_t end = SIZE_MAX);

 private:
  static constexpr size_t kCapacity = 64 * 1024;
  static ssize_t Write(void* cookie, const char* data, size_t size);

  std::mutex mutex_;
  std::string tail_;
  size_t dropped_ = 0;  // bytes removed from the front of tail_ so far
  bool echo_ = false;   // lib/eal.ts sets it from printLog before EAL starts
  FILE* stream_ = nullptr;
};

}  // namespace dpdkts
