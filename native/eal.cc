// rte_eal_init and the end of DPDK's life in the process. EAL's failures reach JS as one
// DpdkError carrying what DPDK said, whether it logged it or printed it (usage text goes to
// stdout/stderr, hence the memfd capture below); the calling thread keeps its CPU affinity.
#include "eal.h"

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_version.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "addon.h"
#include "capture.h"
#include "engine.h"
#include "errors.h"
#include "log_capture.h"
#include "mempool.h"
#include "port_table.h"
#include "telemetry.h"
#include "vdev_wait.h"

namespace dpdkts {

namespace {

enum EalState : int { kUninitialized = 0, kRunning = 1, kCleanedUp = 2 };
std::atomic<int> g_state{kUninitialized};
// Worker threads registered with rte_thread_register (LcoreWorker loops).
std::atomic<int> g_registeredThreads{0};
std::mutex g_shutdown_mutex;
// The message of the last refused init: EAL refuses every later init with "already called
// initialization" once it failed past its argument and device checks (memory, for one), and
// the reason worth telling is the first failure's.
std::string g_lastFailure;
// How long, in milliseconds, the exit waits for worker threads to unregister.
constexpr int kExitWaitMs = 2000;

Napi::Array CpuList(Napi::Env env, const cpu_set_t& set) {
  Napi::Array cpus = Napi::Array::New(env);
  uint32_t n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set)) cpus.Set(n++, cpu);
  }
  return cpus;
}

// Redirects stdout and stderr into a memfd while EAL parses its arguments: getopt and
// EAL's usage text write there directly, not through the log, and the reason for a
// refusal must reach the DpdkError rather than the terminal.
class StdioCapture {
 public:
  StdioCapture() {
    fflush(stdout);
    fflush(stderr);
    fd_ = memfd_create("dpdk-ts-eal-stdio", 0);
    if (fd_ < 0) return;
    savedOut_ = dup(STDOUT_FILENO);
    savedErr_ = dup(STDERR_FILENO);
    dup2(fd_, STDOUT_FILENO);
    dup2(fd_, STDERR_FILENO);
  }
  // Restores stdout and stderr; returns what was written meanwhile.
  std::string Finish() {
    if (fd_ < 0) return "";
    fflush(stdout);
    fflush(stderr);
    dup2(savedOut_, STDOUT_FILENO);
    dup2(savedErr_, STDERR_FILENO);
    close(savedOut_);
    close(savedErr_);
    std::string text;
    char buffer[4096];
    ssize_t n;
    lseek(fd_, 0, SEEK_SET);
    while ((n = read(fd_, buffer, sizeof(buffer))) > 0) text.append(buffer, n);
    close(fd_);
    fd_ = -1;
    return text;
  }

 private:
  int fd_ = -1;
  int savedOut_ = -1;
  int savedErr_ = -1;
};

// The lines of `text` before EAL's usage text, joined with spaces.
std::string BeforeUsage(const std::string& text) {
  std::string result;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.rfind("Usage:", 0) == 0) break;
    if (!line.empty()) result += (result.empty() ? "" : " ") + line;
    start = end + 1;
  }
  return result;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

// The runtime directory EAL will create for these arguments, as eal_create_runtime_dir names
// it: /var/run/dpdk/PREFIX for root, else under $XDG_RUNTIME_DIR or /tmp. Empty when the
// prefix is given in a form not recognised here (then nothing is removed on failure).
std::string ExpectedRuntimeDir(const std::vector<std::string>& args) {
  std::string prefix = "rte";
  for (size_t i = 1; i < args.size(); i++) {
    if (args[i] == "--file-prefix" && i + 1 < args.size()) {
      prefix = args[++i];
    } else if (args[i].rfind("--file-prefix=", 0) == 0) {
      prefix = args[i].substr(strlen("--file-prefix="));
    } else if (args[i].rfind("--file-p", 0) == 0) {
      return "";  // an abbreviation getopt would accept
    }
  }
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  std::string base = getuid() == 0 ? "/var/run" : (xdg != nullptr ? xdg : "/tmp");
  return base + "/dpdk/" + prefix;
}

// EAL refuses to start when its telemetry socket cannot be bound, leaving rte_errno as
// whatever failed last before (EOPNOTSUPP or ENOENT, seen for one read-only directory): the
// errno is the one DPDK's log names ("Error binding socket: Read-only file system").
int TelemetryErrno(const std::string& reason) {
  if (reason.find("TELEMETRY: Error with socket binding, path too long") != std::string::npos)
    return ENAMETOOLONG;
  const std::string bind = "TELEMETRY: Error binding socket: ";
  size_t at = reason.rfind(bind);
  for (int errnum = 1; at != std::string::npos && errnum < 134; errnum++) {
    const char* text = strerrordesc_np(errnum);
    if (text != nullptr && reason.compare(at + bind.size(), strlen(text), text) == 0) return errnum;
  }
  return EIO;
}

// Ends DPDK's telemetry before its memory goes: 22.11 has no call for it, and a client that
// stays connected would have DPDK's own commands (/mempool/list) read unmapped memory (a
// crash, seen). Shutting the sockets down ends the listener thread (accept fails) and each
// client's thread (read returns 0).
void ShutdownTelemetry(const std::string& runtimeDir) {
  std::string path = runtimeDir + "/dpdk_telemetry.v2";
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (dirent* entry = readdir(fds)) {
    int fd = atoi(entry->d_name);
    int type = 0;
    socklen_t typeLen = sizeof(type);
    sockaddr_un address{};
    socklen_t addressLen = sizeof(address);
    if (fd <= STDERR_FILENO || fd == dirfd(fds) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLen) != 0 || type != SOCK_SEQPACKET ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &addressLen) != 0 ||
        address.sun_family != AF_UNIX || strncmp(address.sun_path, path.c_str(), path.size()) != 0)
      continue;
    shutdown(fd, SHUT_RDWR);
  }
  closedir(fds);
}

void RemoveTree(const std::string& dir) {
  if (!dir.empty()) nftw(dir.c_str(), RemoveEntry, 8, FTW_DEPTH | FTW_PHYS);
}

}  // namespace

bool Eal::Running() { return g_state.load() == kRunning; }

void Eal::Require(Napi::Env env, const char* operation) {
  int state = g_state.load();
  if (state == kRunning) return;
  if (state == kUninitialized) {
    Throw(env, "ERR_EAL_NOT_INITIALIZED", "EAL is not initialized: call Eal.init() first",
          operation);
  }
  Throw(env, "ERR_EAL_CLEANED_UP", "EAL was cleaned up: DPDK cannot be used again in this process",
        operation);
}

void Eal::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ealInit", Napi::Function::New(env, InitEal, "ealInit"));
  exports.Set("ealCleanup", Napi::Function::New(env, Cleanup, "ealCleanup"));
  exports.Set("ealState", Napi::Function::New(env, State, "ealState"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("lcores", Napi::Function::New(env, Lcores, "lcores"));
  exports.Set("registerThread", Napi::Function::New(env, RegisterThread, "registerThread"));
  exports.Set("unregisterThread", Napi::Function::New(env, UnregisterThreadJs, "unregisterThread"));
  exports.Set("setLogEcho", Napi::Function::New(env, SetLogEcho, "setLogEcho"));
  exports.Set("logMark", Napi::Function::New(env, LogMark, "logMark"));
  exports.Set("logText", Napi::Function::New(env, LogText, "logText"));
  exports.Set("threadAffinity", Napi::Function::New(env, ThreadAffinity, "threadAffinity"));
  exports.Set("yieldCpu", Napi::Function::New(env, YieldCpu, "yieldCpu"));
}

Napi::Value Eal::InitEal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Eal.init";
  int state = g_state.load();
  if (state == kRunning) {
    Throw(env, "ERR_EAL_ALREADY_INITIALIZED",
          "EAL is already initialized: Eal.init() can be called once per process", op);
  }
  if (state == kCleanedUp) {
    Throw(env, "ERR_EAL_CLEANED_UP",
          "EAL was cleaned up: DPDK cannot be initialized again in this process", op);
  }
  if (!info[0].IsArray()) Throw(env, "EINVAL", "EAL arguments must be an array of strings", op);
  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<std::string> args{"dpdk-ts"};
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value arg = array.Get(i);
    if (!arg.IsString()) {
      Throw(env, "EINVAL", "EAL argument " + std::to_string(i) + " must be a string", op);
    }
    args.push_back(arg.As<Napi::String>().Utf8Value());
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  LogCapture& log = LogCapture::Instance();
  rte_openlog_stream(log.Stream());
  size_t mark = log.Mark();
  bool echo = log.Echo();
  log.SetEcho(false);

  // rte_eal_init pins the calling thread to the main lcore; Node's main thread (and the
  // threads it starts later, which inherit its mask) must keep the affinity it had.
  cpu_set_t affinity;
  bool haveAffinity = pthread_getaffinity_np(pthread_self(), sizeof(affinity), &affinity) == 0;
  // A failed init leaves the runtime directory it created behind; one that existed before
  // (another process's, with the same prefix) is never touched.
  std::string expectedDir = ExpectedRuntimeDir(args);
  bool dirExisted = expectedDir.empty() || access(expectedDir.c_str(), F_OK) == 0;
  StdioCapture stdio;
  int ret = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  int initErrno = rte_errno;
  std::string printed = stdio.Finish();
  log.SetEcho(echo);
  if (haveAffinity) pthread_setaffinity_np(pthread_self(), sizeof(affinity), &affinity);
  if (ret < 0) {
    if (!dirExisted && expectedDir == rte_eal_get_runtime_dir()) RemoveTree(expectedDir);
    std::string reason = log.Since(mark);
    std::string other = BeforeUsage(printed);
    if (!other.empty()) reason += (reason.empty() ? "" : " ") + other;
    int errnum = initErrno > 0 ? initErrno : EINVAL;
    if (errnum == EALREADY && !g_lastFailure.empty()) {
      Throw(env, "ERR_EAL_INIT_FAILED",
            "EAL cannot be initialized again in this process: an earlier Eal.init failed after "
            "DPDK had begun to set up (" +
                g_lastFailure +
                "), and DPDK 22.11 does not undo that. Fix the cause and start a new process",
            op);
    }
    std::string fix;
    if (reason.find("TELEMETRY:") != std::string::npos) {
      errnum = TelemetryErrno(reason);
      fix = ". DPDK's telemetry socket could not be created in " +
            std::string(rte_eal_get_runtime_dir()) +
            ": make that directory writable and its path short enough for a unix socket "
            "(108 bytes with /dpdk_telemetry.v2), or turn telemetry off (telemetry: false, "
            "or --no-telemetry)";
    }
    std::string message = std::string("EAL initialization failed: ") + rte_strerror(errnum) +
                          (reason.empty() ? "" : " (DPDK said: " + reason + ")") + fix;
    g_lastFailure = message;
    throw MakeError(env, message, ErrnoName(errnum), errnum, op, "");
  }
  if (echo) {
    std::string logged = log.Text(mark);
    ssize_t ignored = write(STDERR_FILENO, logged.data(), logged.size());
    ignored = write(STDERR_FILENO, printed.data(), printed.size());
    (void)ignored;
  }
  g_state.store(kRunning);
  env.GetInstanceData<Addon>()->ownsEal = true;
  Telemetry::RegisterCommands();

  Napi::Object result = Napi::Object::New(env);
  result.Set("mainLcore", rte_get_main_lcore());
  result.Set("lcoreCount", rte_lcore_count());
  result.Set("iovaMode", rte_eal_iova_mode() == RTE_IOVA_VA ? "va" : "pa");
  return result;
}

void Eal::Shutdown(bool atExit) {
  std::lock_guard<std::mutex> lock(g_shutdown_mutex);
  if (g_state.load() != kRunning) return;
  // At exit, lib/lcore.ts has just terminated the worker threads: give them a moment to leave
  // (each unregisters as its environment ends), so that the ports can be closed and their
  // vhost-user sockets unlinked rather than left behind.
  for (int waited = 0; atExit && g_registeredThreads.load() > 0 && waited < kExitWaitMs; waited++) {
    usleep(1000);
  }
  Engine::StopAll();
  VdevWait::CancelAll();
  // Captures end before their ports close: their files are complete at exit too.
  Capture::StopAll();
  // EAL leaves its runtime directory (/var/run/dpdk/PREFIX) behind; nothing else uses it.
  std::string runtimeDir = rte_eal_get_runtime_dir();
  g_state.store(kCleanedUp);
  // At exit, a worker thread may still be polling: its ports and memory stay as they are
  // (the process is ending; in-memory mode leaves no files), rather than vanish under it.
  if (!(atExit && g_registeredThreads.load() > 0)) {
    ShutdownTelemetry(runtimeDir);
    PortTable::CloseAll();
    Mempool::FreeAll();
    rte_eal_cleanup();
  }
  RemoveTree(runtimeDir);
}

// ealCleanup(atExit): atExit (the process 'exit' hook) never throws.
Napi::Value Eal::Cleanup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool atExit = info[0].ToBoolean();
  if (!atExit && g_state.load() == kRunning && g_registeredThreads.load() > 0) {
    Throw(env, "EBUSY",
          std::to_string(g_registeredThreads.load()) +
              " lcore worker thread(s) still run: stop them before Eal.cleanup()",
          "Eal.cleanup");
  }
  if (!atExit && g_state.load() == kRunning && VdevWait::Count() > 0) {
    Throw(env, "EBUSY",
          std::to_string(VdevWait::Count()) +
              " virtio-user server port creation(s) still wait for their vhost-user client: "
              "await or abort them before Eal.cleanup()",
          "Eal.cleanup");
  }
  // JS views over pool memory must go before the memory is unmapped: a later access would be a
  // segfault, not an exception.
  env.GetInstanceData<Addon>()->DetachChunks(0, UINT32_MAX);
  Shutdown(atExit);
  return env.Undefined();
}

Napi::Value Eal::State(const Napi::CallbackInfo& info) {
  static const char* names[] = {"uninitialized", "running", "cleaned-up"};
  return Napi::String::New(info.Env(), names[g_state.load()]);
}

Napi::Value Eal::Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  char build[32];
  snprintf(build, sizeof(build), "%s %d.%02d.%d", RTE_VER_PREFIX, RTE_VER_YEAR, RTE_VER_MONTH,
           RTE_VER_MINOR);
  result.Set("build", build);
  result.Set("buildNumber", static_cast<double>(RTE_VERSION));
  result.Set("runtime", rte_version());
  return result;
}

Napi::Value Eal::Lcores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env, "Eal.lcores");
  Napi::Array result = Napi::Array::New(env);
  uint32_t n = 0;
  unsigned int main = rte_get_main_lcore();
  unsigned int lcore;
  RTE_LCORE_FOREACH(lcore) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("id", lcore);
    entry.Set("role", lcore == main ? "main" : "worker");
    entry.Set("socket", rte_lcore_to_socket_id(lcore));
    entry.Set("cpus", CpuList(env, rte_lcore_cpuset(lcore)));
    entry.Set("busy", lcore != main && rte_eal_get_lcore_state(lcore) != WAIT);
    result.Set(n++, entry);
  }
  return result;
}

Napi::Value Eal::RegisterThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "LcoreWorker.register";
  Require(env, op);
  Addon* addon = env.GetInstanceData<Addon>();
  if (addon->registeredLcore >= 0) return Napi::Number::New(env, addon->registeredLcore);
  uint32_t cpu = ArgUint32(info, 0, "cpu", op, CPU_SETSIZE - 1);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) {
    throw MakeError(
        env, "Cannot pin the worker thread to CPU " + std::to_string(cpu) + ": " + strerror(err),
        ErrnoName(err), err, op, "cpu " + std::to_string(cpu));
  }
  size_t mark = LogCapture::Instance().Mark();
  if (rte_thread_register() < 0) {
    ThrowDpdk(env, -1, "Cannot register the worker thread with EAL", op, "", mark);
  }
  addon->registeredLcore = static_cast<int>(rte_lcore_id());
  g_registeredThreads++;
  // registerThread(cpu, counters, names): the loop's counters, for telemetry.
  if (info[1].IsTypedArray() &&
      info[1].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array && info[2].IsArray()) {
    Napi::Float64Array counters = info[1].As<Napi::Float64Array>();
    Napi::Array list = info[2].As<Napi::Array>();
    std::vector<std::string> names;
    for (uint32_t i = 0; i < list.Length() && i < counters.ElementLength(); i++)
      names.push_back(list.Get(i).ToString().Utf8Value());
    addon->workerCounters = Napi::Persistent(info[1].As<Napi::Object>());
    Telemetry::AddWorker(rte_lcore_id(), cpu, std::move(names), counters.Data());
  }
  return Napi::Number::New(env, addon->registeredLcore);
}

void Eal::UnregisterThread(Addon* addon) {
  if (addon->registeredLcore < 0) return;
  Telemetry::RemoveWorker(static_cast<unsigned int>(addon->registeredLcore));
  addon->workerCounters.Reset();
  if (Running()) rte_thread_unregister();
  addon->registeredLcore = -1;
  g_registeredThreads--;
}

Napi::Value Eal::UnregisterThreadJs(const Napi::CallbackInfo& info) {
  UnregisterThread(info.Env().GetInstanceData<Addon>());
  return info.Env().Undefined();
}

Napi::Value Eal::SetLogEcho(const Napi::CallbackInfo& info) {
  LogCapture::Instance().SetEcho(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// logMark(): a position in DPDK's captured log; logText(mark, end): what was logged between two
// marks (what is still in the capture's tail), newlines kept, so that a reader that moves its
// mark to `end` misses no line logged meanwhile. For watchers of what DPDK logs on its own
// threads, such as a virtio-user server's failed device start on reconnection.
Napi::Value Eal::LogMark(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LogCapture::Instance().Mark()));
}

Napi::Value Eal::LogText(const Napi::CallbackInfo& info) {
  size_t mark = static_cast<size_t>(info[0].ToNumber().DoubleValue());
  size_t end = static_cast<size_t>(info[1].ToNumber().DoubleValue());
  return Napi::String::New(info.Env(), LogCapture::Instance().Text(mark, end));
}

Napi::Value Eal::ThreadAffinity(const Napi::CallbackInfo& info) {
  cpu_set_t set;
  pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
  return CpuList(info.Env(), set);
}

// A TypeScript loop's sched_yield() (ForwarderLoop.idle): one call when a pass moved nothing,
// never one per packet.
Napi::Value Eal::YieldCpu(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

}  // namespace dpdkts
