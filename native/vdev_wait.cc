// Creations that wait for a peer (see vdev_wait.h). Each runs rte_dev_probe on its own thread
// rather than on libuv's pool: a wait has no bound, and four of them would starve the pool that
// file system and DNS calls share.
#include "vdev_wait.h"

#include <dirent.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "eal.h"
#include "errors.h"
#include "log_capture.h"
#include "port_table.h"
#include "vhost_socket.h"

namespace dpdkts {

namespace {

// How long the creating call waits for the probe thread to listen, and the exit for a cancelled
// probe to end, in milliseconds. Both take microseconds unless the machine is starved.
constexpr int kListenWaitMs = 5000;
constexpr int kExitWaitMs = 2000;

struct Pending {
  uint64_t ticket = 0;
  std::string devargs;
  std::string name;
  std::string path;
  std::string operation;
  std::thread thread;
  Napi::ThreadSafeFunction done;
  std::atomic<bool> probed{false};
  std::atomic<bool> cancelled{false};
  // Set by the thread before `probed`.
  int ret = 0;
  int errnum = 0;
  std::string logged;
  int portId = -1;
};

std::mutex g_mutex;
// Never destroyed: a thread cut short by the exit may still hold its entry.
std::map<uint64_t, std::unique_ptr<Pending>>& g_pending =
    *new std::map<uint64_t, std::unique_ptr<Pending>>();
uint64_t g_nextTicket = 1;

// Whether a socket of this network namespace listens on `path`. Read from /proc/net/unix
// rather than by connecting, which the waiting accept() would take for its peer.
bool Listening(const std::string& path) {
  std::ifstream table("/proc/net/unix");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string num, refs, protocol, flags, type, state, inode, name;
    if (!(fields >> num >> refs >> protocol >> flags >> type >> state >> inode >> name)) continue;
    // __SO_ACCEPTCON: the socket listens.
    if (name == path && (std::stoul(flags, nullptr, 16) & 0x10000) != 0) return true;
  }
  return false;
}

// The fds of this process's sockets bound to `path`: a virtio-user server's listening socket
// and the one it accepted. Only such sockets can be bound to the path: a second server on it is
// refused, and clients are not bound.
std::vector<int> SocketsOn(const std::string& path) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') fds.push_back(atoi(entry->d_name));
  }
  closedir(dir);
  std::vector<int> bound;
  for (int fd : fds) {
    sockaddr_un addr = {};
    socklen_t length = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) continue;
    if (addr.sun_family != AF_UNIX || length <= offsetof(sockaddr_un, sun_path)) continue;
    if (strncmp(addr.sun_path, path.c_str(), sizeof(addr.sun_path)) == 0) bound.push_back(fd);
  }
  return bound;
}

// Ends the accept() a probe waits in: shutdown() of a listening socket makes it fail (EINVAL),
// and DPDK then destroys the backend it was setting up, fds included. Connecting instead would
// be taken for the peer, and the first message to it failing leaves the sockets and eventfds
// of the half-set-up device open (virtio_user_dev_init returns without undoing its setup).
// False when nothing listens on `path` yet.
bool EndAccept(const std::string& path) {
  bool ended = false;
  for (int fd : SocketsOn(path)) {
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    shutdown(fd, SHUT_RDWR);
    ended = true;
  }
  return ended;
}

// On the JS thread, once the probe thread has ended: settles the creation.
void Finish(Napi::Env env, Napi::Function callback, Pending* pending) {
  if (env == nullptr) return;  // the environment is ending: nobody waits anymore
  std::unique_ptr<Pending> owned;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto found = g_pending.find(pending->ticket);
    if (found == g_pending.end()) return;
    owned = std::move(found->second);
    g_pending.erase(found);
  }
  if (owned->thread.joinable()) owned->thread.join();
  try {
    if (owned->cancelled) {
      callback.Call({env.Null(), Napi::Number::New(env, -1), Napi::Boolean::New(env, true)});
    } else if (owned->ret < 0) {
      std::string message =
          "Cannot create device \"" + owned->devargs + "\": " + rte_strerror(owned->errnum);
      if (!owned->logged.empty()) message += " (DPDK said: " + owned->logged + ")";
      callback.Call({MakeError(env, message, ErrnoName(owned->errnum), owned->errnum,
                               owned->operation, owned->name)
                         .Value()});
    } else {
      callback.Call({env.Null(), Napi::Number::New(env, owned->portId)});
    }
  } catch (const Napi::Error& error) {
    napi_fatal_exception(env, error.Value());
  }
}

// The probe thread: waits in DPDK for the peer, then cleans up or records the port.
void Run(Pending* pending) {
  size_t mark = LogCapture::Instance().Mark();
  int ret = rte_dev_probe(pending->devargs.c_str());
  pending->ret = ret;
  pending->errnum = ret < 0 ? DpdkErrno(ret) : 0;
  pending->logged = LogCapture::Instance().Since(mark);
  pending->probed = true;
  {
    std::lock_guard<std::mutex> lock(PortTable::Mutex());
    uint16_t id;
    if (ret < 0) {
      // A peer that left at once (a liveness check's connection) fails the probe after accept(),
      // and DPDK leaves its sockets open; nothing else refers to them anymore.
      for (int fd : SocketsOn(pending->path)) close(fd);
      // The socket file is this probe's once nothing listens on it: a failure before bind()
      // leaves none, or someone else's.
      struct stat st;
      if (lstat(pending->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
          ConnectErrno(pending->path) == ECONNREFUSED) {
        unlink(pending->path.c_str());
      }
    } else if (rte_eth_dev_get_port_by_name(pending->name.c_str(), &id) == 0) {
      PortTable::Record(id).hotplugged = true;
      PortTable::Record(id).deviceName = pending->name;
      // A peer connected just as the wait was cancelled: the caller has given up on the port.
      if (pending->cancelled) {
        PortTable::Teardown(id);
      } else {
        pending->portId = id;
      }
    } else {
      rte_eal_hotplug_remove("vdev", pending->name.c_str());
      pending->ret = -ENODEV;
      pending->errnum = ENODEV;
    }
  }
  // Finish may free `pending` as soon as the call is queued.
  Napi::ThreadSafeFunction done = pending->done;
  done.BlockingCall(pending, Finish);
  done.Release();
}

}  // namespace

void VdevWait::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeWaiting", Napi::Function::New(env, Probe, "probeWaiting"));
  exports.Set("cancelProbe", Napi::Function::New(env, Cancel, "cancelProbe"));
  exports.Set("dropVhostPeer", Napi::Function::New(env, DropPeer, "dropVhostPeer"));
}

std::string VdevWait::ServerOf(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [ticket, pending] : g_pending) {
    if (pending->path == path && !pending->probed) return pending->name;
  }
  return "";
}

bool VdevWait::Creating(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [ticket, pending] : g_pending) {
    if (pending->name == name) return true;
  }
  return false;
}

size_t VdevWait::Count() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_pending.size();
}

void VdevWait::CheckRoom(Napi::Env env, const std::string& name, const std::string& op) {
  size_t ports = rte_eth_dev_count_total();
  size_t waiting = 0;
  {
    // Once probed, a creation's port is counted by DPDK, or its slot is free again.
    std::lock_guard<std::mutex> lock(g_mutex);
    for (const auto& [ticket, pending] : g_pending) waiting += pending->probed ? 0 : 1;
  }
  if (ports + waiting < RTE_MAX_ETHPORTS) return;
  std::string waits = waiting == 0
                          ? ""
                          : " and " + std::to_string(waiting) + (waiting == 1 ? " is" : " are") +
                                " being created (waiting for a vhost-user client)";
  Throw(env, "ENOSPC",
        "Cannot create device \"" + name + "\": " + std::to_string(ports) +
            " ethernet ports exist" + waits + ", the most DPDK was built for (RTE_MAX_ETHPORTS " +
            std::to_string(RTE_MAX_ETHPORTS) + "): close a port first",
        op, name);
}

// probeWaiting(devargs, operation, callback): starts creating a virtio-user server port and
// returns a ticket for cancelProbe. `callback(error, portId, cancelled)` runs once it ends.
Napi::Value VdevWait::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string op = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "Port.probe";
  Eal::Require(env, op.c_str());
  std::string devargs = ArgString(info, 0, "devargs", op.c_str());
  if (!info[2].IsFunction()) Throw(env, "EINVAL", "Expected a callback", op);
  size_t comma = devargs.find(',');
  std::string name = devargs.substr(0, comma);
  std::optional<SocketEnd> socket =
      SocketEnd::Of(name, comma == std::string::npos ? "" : devargs.substr(comma + 1));
  if (!socket || socket->vhost || !socket->server) {
    Throw(env, "EINVAL", "Only a virtio-user server waits for its peer, got \"" + devargs + "\"",
          op, name);
  }
  // Held until the thread listens: by then the probe has changed every shared list it changes.
  std::lock_guard<std::mutex> lock(PortTable::Mutex());
  uint16_t existing;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &existing) == 0 || Creating(name)) {
    Throw(env, "EEXIST", "A device named \"" + name + "\" already exists", op, name);
  }
  CheckRoom(env, name, op);
  PrepareSocket(env, *socket, op, name);
  auto pending = std::make_unique<Pending>();
  Pending* raw = pending.get();
  raw->devargs = devargs;
  raw->name = name;
  raw->path = socket->path;
  raw->operation = op;
  // Referenced: a creation under way keeps Node running, as a listening server does.
  raw->done = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(),
                                            "dpdk-ts vhost-user wait", 0, 1);
  {
    std::lock_guard<std::mutex> registry(g_mutex);
    raw->ticket = g_nextTicket++;
    g_pending[raw->ticket] = std::move(pending);
  }
  raw->thread = std::thread(Run, raw);
  for (int waited = 0; !raw->probed && !Listening(raw->path) && waited < kListenWaitMs; waited++) {
    usleep(1000);
  }
  return Napi::Number::New(env, static_cast<double>(raw->ticket));
}

// dropVhostPeer(path): ends the connection a virtio-user server on `path` accepted, so that its
// vhost-user client (an OVS dpdkvhostuserclient port) reconnects and sets the device up again.
// shutdown() rather than close(): the fd stays DPDK's, which sees the peer gone at its next link
// read, closes it and listens again. Returns how many connections it ended (0: none was up).
Napi::Value VdevWait::DropPeer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path", "VirtioUser.dropPeer");
  uint32_t dropped = 0;
  for (int fd : SocketsOn(path)) {
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening) continue;
    if (shutdown(fd, SHUT_RDWR) == 0) dropped++;
  }
  return Napi::Number::New(env, dropped);
}

// cancelProbe(ticket): makes a waiting creation fail; its callback then reports it cancelled.
// Returns false when the probe does not listen yet: call again a little later.
Napi::Value VdevWait::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t ticket = static_cast<uint64_t>(info[0].ToNumber().DoubleValue());
  std::lock_guard<std::mutex> lock(g_mutex);
  auto found = g_pending.find(ticket);
  if (found == g_pending.end()) return Napi::Boolean::New(env, true);
  Pending* pending = found->second.get();
  pending->cancelled = true;
  return Napi::Boolean::New(env, pending->probed || EndAccept(pending->path));
}

void VdevWait::CancelAll() {
  std::vector<Pending*> all;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto& [ticket, pending] : g_pending) all.push_back(pending.get());
  }
  for (Pending* pending : all) pending->cancelled = true;
  for (int waited = 0; waited < kExitWaitMs; waited++) {
    bool left = false;
    for (Pending* pending : all) {
      if (pending->probed) continue;
      left = true;
      if (waited % 10 == 0) EndAccept(pending->path);
    }
    if (!left) break;
    usleep(1000);
  }
  for (Pending* pending : all) {
    if (!pending->thread.joinable()) continue;
    // One still in DPDK after the wait is left to the ending process.
    if (pending->probed) {
      pending->thread.join();
    } else {
      pending->thread.detach();
    }
  }
}

}  // namespace dpdkts
