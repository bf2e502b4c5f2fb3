// The unix sockets of vhost-user ports: net_vhost's `iface` and net_virtio_user's `path`. DPDK
// checks none of what commonly goes wrong with them, and fails later in ways that hide the
// cause: two ports on one path (no error; closing one unlinks the other's socket), a server
// socket left behind by a process that died (bind fails at configure, "Operation not
// supported"), no server to connect to (an errno left over from an earlier call, the reason
// only in DPDK's log). These checks run when a port is created, under the port table's lock.
#pragma once

#include <napi.h>

#include <optional>
#include <string>

namespace dpdkts {

// One end of a vhost-user socket: which path, and whether the port serves it or connects to it.
struct SocketEnd {
  std::string path;
  bool server = false;
  bool vhost = false;  // net_vhost (the switch side), else net_virtio_user

  // The socket end of a device `name` with devargs `args` ("iface=/tmp/s,client=1"), if it is a
  // vhost-user device.
  static std::optional<SocketEnd> Of(const std::string& name, const std::string& args);
};

// 0 when something accepts a connection on `path`, else connect's errno. A listener with a
// full backlog (EAGAIN) counts as accepting. The connection is closed at once.
int ConnectErrno(const std::string& path);

// Before a vhost-user device is created: throws EADDRINUSE when a virtio-user server waits on the
// path (only its vhost client may join it) or another port already uses the path the same way (or
// is a second net_vhost on it), naming that port; for a server, throws when a live socket or a file
// that is not a socket holds the path, and removes a stale socket (one nothing listens on, left by
// a process that ended without closing its port).
void PrepareSocket(Napi::Env env, const SocketEnd& end, const std::string& operation,
                   const std::string& object);

// After a virtio-user client failed to be created: throws a DpdkError naming why nothing could
// be reached at its path (no such file, nothing listening, not a socket, no permission), with
// what DPDK logged since `logMark`. Returns when the path shows no such reason.
void ExplainConnectFailure(Napi::Env env, const SocketEnd& end, const std::string& operation,
                           const std::string& object, size_t logMark);

}  // namespace dpdkts
