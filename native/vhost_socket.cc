// The checks of vhost-user socket paths (see vhost_socket.h). Whether a socket is live is
// asked by connecting to it, not by reading /proc/net/unix: that file lists only this network
// namespace's sockets, and a server in a container can share the path through a bind mount.
// A live server sees that probe as a connection closed at once, which vhost-user servers
// handle as a peer that left.
#include "vhost_socket.h"

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "log_capture.h"
#include "port_table.h"
#include "vdev_wait.h"

namespace dpdkts {

namespace {

bool StartsWith(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// The value of `key` in devargs "k=v,k=v", or "" when absent.
std::string DevargValue(const std::string& args, const std::string& key) {
  size_t start = 0;
  while (start <= args.size()) {
    size_t end = args.find(',', start);
    if (end == std::string::npos) end = args.size();
    std::string item = args.substr(start, end - start);
    if (StartsWith(item, (key + "=").c_str())) return item.substr(key.size() + 1);
    start = end + 1;
  }
  return "";
}

}  // namespace

int ConnectErrno(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int result = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno;
  close(fd);
  return result == EAGAIN || result == EINPROGRESS ? 0 : result;
}

std::optional<SocketEnd> SocketEnd::Of(const std::string& name, const std::string& args) {
  SocketEnd end;
  // DPDK accepts each driver's alias as a device name prefix too.
  if (StartsWith(name, "net_vhost") || StartsWith(name, "eth_vhost")) {
    end.vhost = true;
    end.path = DevargValue(args, "iface");
    end.server = DevargValue(args, "client") != "1";
  } else if (StartsWith(name, "net_virtio_user") || StartsWith(name, "virtio_user")) {
    end.path = DevargValue(args, "path");
    end.server = DevargValue(args, "server") == "1";
  } else {
    return std::nullopt;
  }
  if (end.path.empty()) return std::nullopt;
  return end;
}

void PrepareSocket(Napi::Env env, const SocketEnd& end, const std::string& operation,
                   const std::string& object) {
  // A creation waiting on the path is not a port yet, and connecting to its socket (as the
  // stale socket check below does) would end its wait.
  std::string waiting = VdevWait::ServerOf(end.path);
  if (!waiting.empty() && !(end.vhost && !end.server)) {
    Throw(env, "EADDRINUSE",
          end.path + " is already the socket of " + waiting +
              ", which waits for a vhost-user client to connect to it: give each port its own " +
              "socket path, or abort that creation first",
          operation, object);
  }
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(id, &info) != 0 || info.device == nullptr) continue;
    const rte_devargs* devargs = rte_dev_devargs(info.device);
    if (devargs == nullptr || devargs->args == nullptr) continue;
    std::optional<SocketEnd> other = SocketEnd::Of(PortTable::Name(id), devargs->args);
    if (!other || other->path != end.path) continue;
    // A vhost-user server and its virtio-user client in one process is the loopback; two
    // servers (or two clients, or two net_vhost ports) on one path is a mistake.
    if (other->server != end.server && !(other->vhost && end.vhost)) continue;
    std::string owner = PortTable::Describe(id);
    Throw(env, "EADDRINUSE",
          end.path + " is already the socket of " + owner + ", which " +
              (other->server ? "serves" : "connects to") +
              " it: give each port its own socket path, or close port " + std::to_string(id) +
              " first",
          operation, object);
  }
  if (!end.server) return;
  struct stat st;
  if (lstat(end.path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) {
    Throw(env, "EEXIST",
          end.path + " exists and is not a socket, so the vhost-user server cannot create its " +
              "socket there: remove it or choose another path",
          operation, object);
  }
  int err = ConnectErrno(end.path);
  if (err == 0) {
    Throw(env, "EADDRINUSE",
          "Another process already serves " + end.path +
              " (a DPDK application, OVS or QEMU?): choose another socket path, or stop that "
              "process",
          operation, object);
  }
  // Nothing listens: the socket of a process that ended without closing its port. DPDK would
  // refuse to bind over it.
  if (err == ECONNREFUSED) unlink(end.path.c_str());
}

void ExplainConnectFailure(Napi::Env env, const SocketEnd& end, const std::string& operation,
                           const std::string& object, size_t logMark) {
  const std::string advice =
      ": start the vhost-user side first (an OVS dpdkvhostuser port, a Vhost port), or create "
      "a server with VirtioUser.createServer to wait for it";
  std::string message;
  int err;
  struct stat st;
  if (lstat(end.path.c_str(), &st) != 0) {
    err = errno;
    if (err != ENOENT) return;
    message = "No vhost-user server listens at " + end.path + " (no such file)" + advice;
  } else if (!S_ISSOCK(st.st_mode)) {
    err = ENOTSOCK;
    message = end.path + " is not a socket: give the path of a vhost-user server's socket";
  } else {
    err = ConnectErrno(end.path);
    if (err == 0) return;
    if (err == ECONNREFUSED) {
      message = "No vhost-user server listens at " + end.path +
                " (the socket file is there but nothing accepts connections: its server has "
                "ended)" +
                advice;
    } else {
      message = "Cannot connect to the vhost-user server at " + end.path + ": " + strerror(err);
    }
  }
  std::string logged = LogCapture::Instance().Since(logMark);
  if (!logged.empty()) message += " (DPDK said: " + logged + ")";
  throw MakeError(env, message, ErrnoName(err), err, operation, object);
}

}  // namespace dpdkts
