// DPDK logs to a FILE* (rte_openlog_stream). Handing it a fopencookie stream, rather than a
// pipe or a file, brings every line back into this process synchronously, on the thread that
// logged, with no reader thread: a failure's log is in the tail by the time the call returns.
#include "log_capture.h"

#include <unistd.h>

namespace dpdkts {

LogCapture& LogCapture::Instance() {
  static LogCapture* instance = new LogCapture();  // never destroyed: DPDK may log at exit
  return *instance;
}

FILE* LogCapture::Stream() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stream_ == nullptr) {
    cookie_io_functions_t functions = {nullptr, &LogCapture::Write, nullptr, nullptr};
    stream_ = fopencookie(this, "w", functions);
    // Line buffered: each log line reaches Write whole, and Mark() flushes any partial one.
    setvbuf(stream_, nullptr, _IOLBF, 0);
  }
  return stream_;
}

void LogCapture::SetEcho(bool echo) {
  std::lock_guard<std::mutex> lock(mutex_);
  echo_ = echo;
}

// Runs on whichever thread logged (the JS thread, DPDK's interrupt thread, an lcore).
ssize_t LogCapture::Write(void* cookie, const char* data, size_t size) {
  LogCapture* self = static_cast<LogCapture*>(cookie);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (self->echo_) {
    ssize_t ignored = write(STDERR_FILENO, data, size);
    (void)ignored;
  }
  self->tail_.append(data, size);
  // Marks are absolute positions (dropped_ + offset), so they survive trimming the front.
  if (self->tail_.size() > kCapacity) {
    size_t excess = self->tail_.size() - kCapacity;
    self->tail_.erase(0, excess);
    self->dropped_ += excess;
  }
  return static_cast<ssize_t>(size);
}

bool LogCapture::Echo() {
  std::lock_guard<std::mutex> lock(mutex_);
  return echo_;
}

// What was logged from `mark` up to `end` (both Mark()s; `end` SIZE_MAX: up to now).
std::string LogCapture::Text(size_t mark, size_t end) {
  if (stream_ != nullptr) fflush(stream_);
  std::lock_guard<std::mutex> lock(mutex_);
  size_t start = mark > dropped_ ? mark - dropped_ : 0;
  size_t stop = end == SIZE_MAX ? tail_.size() : (end > dropped_ ? end - dropped_ : 0);
  return start >= tail_.size() || stop <= start ? "" : tail_.substr(start, stop - start);
}

size_t LogCapture::Mark() {
  if (stream_ != nullptr) fflush(stream_);
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_ + tail_.size();
}

// One line of text for an error message: newlines become spaces, trailing ones go.
std::string LogCapture::Since(size_t mark) {
  std::string text = Text(mark);
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  size_t end = text.find_last_not_of(' ');
  return end == std::string::npos ? "" : text.substr(0, end + 1);
}

}  // namespace dpdkts
