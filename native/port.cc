// The Port object's methods. Each checks that the port it was made for still exists (a closed
// port's id may be reused by a new port: the epoch tells them apart) and throws DPDK's
// failures with what DPDK logged.
#include "port.h"

#include <rte_dev.h>
#include <rte_ether.h>

#include <mutex>
#include <optional>
#include <vector>

#include "eal.h"
#include "errors.h"
#include "log_capture.h"
#include "mempool.h"
#include "port_table.h"
#include "vdev_wait.h"
#include "vhost_socket.h"

namespace dpdkts {

namespace {

std::string MacToString(const rte_ether_addr& mac) {
  char text[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(text, sizeof(text), &mac);
  std::string result = text;
  for (char& c : result) c = static_cast<char>(tolower(c));  // as ip(8) and OVS print them
  return result;
}

// A port that engines or lcore workers poll cannot be stopped or closed under them.
void ThrowIfPolled(Napi::Env env, const char* op, uint16_t id) {
  int busy = PortTable::Record(id).busy.load();
  if (busy > 0) {
    Throw(env, "EBUSY",
          "Port is polled by " + std::to_string(busy) +
              " running engine(s) or lcore worker(s): stop them first",
          op, PortTable::Describe(id));
  }
}

}  // namespace

void Port::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Port",
                                    {
                                        StaticMethod("probe", &Port::Probe),
                                        StaticMethod("list", &Port::List),
                                        InstanceMethod("info", &Port::Info),
                                        InstanceMethod("configure", &Port::Configure),
                                        InstanceMethod("start", &Port::Start),
                                        InstanceMethod("stop", &Port::Stop),
                                        InstanceMethod("close", &Port::Close),
                                        InstanceMethod("getPromiscuous", &Port::GetPromiscuous),
                                        InstanceMethod("setPromiscuous", &Port::SetPromiscuous),
                                        InstanceMethod("getMac", &Port::GetMac),
                                        InstanceMethod("setMac", &Port::SetMac),
                                        InstanceMethod("getMtu", &Port::GetMtu),
                                        InstanceMethod("setMtu", &Port::SetMtu),
                                        InstanceMethod("link", &Port::Link),
                                        InstanceMethod("stats", &Port::Stats),
                                        InstanceMethod("resetStats", &Port::ResetStats),
                                        InstanceMethod("xstats", &Port::Xstats),
                                        InstanceMethod("resetXstats", &Port::ResetXstats),
                                        InstanceMethod("watchLink", &Port::WatchLink),
                                        InstanceMethod("acquire", &Port::AcquireJs),
                                        InstanceMethod("release", &Port::ReleaseJs),
                                        InstanceAccessor("id", &Port::GetId, nullptr),
                                        InstanceAccessor("started", &Port::IsStarted, nullptr),
                                        InstanceAccessor("queueBase", &Port::GetQueueBase, nullptr),
                                    });
  exports.Set("Port", ctor);
}

// new Port(id): a handle on an existing port.
Port::Port(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Port>(info) {
  Napi::Env env = info.Env();
  const char* op = "Port.get";
  Eal::Require(env, op);
  uint32_t id = ArgUint32(info, 0, "port id", op, RTE_MAX_ETHPORTS - 1);
  if (!rte_eth_dev_is_valid_port(id)) {
    Throw(env, "ENODEV", "No port with id " + std::to_string(id), op, "port " + std::to_string(id));
  }
  id_ = static_cast<uint16_t>(id);
  name_ = PortTable::Name(id_);
  epoch_ = PortTable::Record(id_).epoch;
}

Port::~Port() { StopWatchingLink(); }

// The port id, once EAL runs and this object's port is still the one with that id.
uint16_t Port::Checked(Napi::Env env, const char* operation) {
  Eal::Require(env, operation);
  if (PortTable::Record(id_).epoch != epoch_ || !rte_eth_dev_is_valid_port(id_)) {
    Throw(env, "ERR_CLOSED", "Port is closed", operation,
          "port " + std::to_string(id_) + " (" + name_ + ")");
  }
  return id_;
}

template <typename Call>
uint16_t Port::Run(Napi::Env env, const char* operation, const std::string& what, Call call) {
  uint16_t id = Checked(env, operation);
  size_t mark = LogCapture::Instance().Mark();
  int ret = call(id);
  if (ret != 0) ThrowDpdk(env, ret, what, operation, PortTable::Describe(id), mark);
  return id;
}

// probe(devargs, operation?): hotplugs a virtual device (e.g. "net_vhost0,iface=/tmp/s") and
// returns the id of the port it created. `operation` names the SDK call in errors
// (VirtioUser.create), default Port.probe.
Napi::Value Port::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string op = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "Port.probe";
  Eal::Require(env, op.c_str());
  std::string devargs = ArgString(info, 0, "devargs", op.c_str());
  size_t comma = devargs.find(',');
  std::string name = devargs.substr(0, comma);
  // Held from the name check to the record update, so two probes of one name (or of one
  // socket path) cannot race.
  std::lock_guard<std::mutex> lock(PortTable::Mutex());
  uint16_t existing;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &existing) == 0) {
    Throw(env, "EEXIST",
          "A device named \"" + name + "\" already exists (port " + std::to_string(existing) + ")",
          op, name);
  }
  if (VdevWait::Creating(name)) {
    Throw(env, "EEXIST",
          "A device named \"" + name + "\" is being created (it waits for its vhost-user client)",
          op, name);
  }
  VdevWait::CheckRoom(env, name, op);
  std::optional<SocketEnd> socket =
      SocketEnd::Of(name, comma == std::string::npos ? "" : devargs.substr(comma + 1));
  if (socket) PrepareSocket(env, *socket, op, name);
  size_t mark = LogCapture::Instance().Mark();
  int ret = rte_dev_probe(devargs.c_str());
  if (ret < 0) {
    if (socket && !socket->server && !socket->vhost) {
      ExplainConnectFailure(env, *socket, op, name, mark);
    }
    ThrowDpdk(env, ret, "Cannot create device \"" + devargs + "\"", op, name, mark);
  }
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    rte_eal_hotplug_remove("vdev", name.c_str());
    Throw(env, "ENODEV", "Device \"" + name + "\" was created but is not an ethernet port", op,
          name);
  }
  PortTable::Record(id).hotplugged = true;
  PortTable::Record(id).deviceName = name;
  return Napi::Number::New(env, id);
}

Napi::Value Port::List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Eal::Require(env, "Port.list");
  Napi::Array ids = Napi::Array::New(env);
  uint32_t n = 0;
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) { ids.Set(n++, id); }
  return ids;
}

Napi::Value Port::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_eth_dev_info dev;
  uint16_t id = Run(env, "Port.info", "Cannot read device info",
                    [&dev](uint16_t id) { return rte_eth_dev_info_get(id, &dev); });
  rte_ether_addr mac;
  rte_eth_macaddr_get(id, &mac);
  Napi::Object result = Napi::Object::New(env);
  result.Set("id", id);
  result.Set("name", name_);
  result.Set("driver", dev.driver_name != nullptr ? dev.driver_name : "");
  result.Set("mac", MacToString(mac));
  result.Set("socket", rte_eth_dev_socket_id(id));
  result.Set("maxRxQueues", dev.max_rx_queues);
  result.Set("maxTxQueues", dev.max_tx_queues);
  result.Set("rxDescriptorsMax", dev.rx_desc_lim.nb_max);
  result.Set("txDescriptorsMax", dev.tx_desc_lim.nb_max);
  result.Set("minMtu", dev.min_mtu);
  result.Set("maxMtu", dev.max_mtu);
  result.Set("rxQueues", PortTable::Record(id).nbRx.load());
  result.Set("txQueues", PortTable::Record(id).nbTx.load());
  result.Set("started", PortTable::Record(id).started.load());
  result.Set("hotplugged", PortTable::Record(id).hotplugged);
  return result;
}

// configure(rxQueues, txQueues, rxDescriptors, txDescriptors, mempool)
Napi::Value Port::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.configure";
  uint16_t id = Checked(env, op);
  PortRecord& record = PortTable::Record(id);
  if (record.started) {
    Throw(env, "EBUSY", "Port is started: stop it before configuring it", op,
          PortTable::Describe(id));
  }
  uint16_t nbRx = static_cast<uint16_t>(ArgUint32(info, 0, "rxQueues", op, UINT16_MAX));
  uint16_t nbTx = static_cast<uint16_t>(ArgUint32(info, 1, "txQueues", op, UINT16_MAX));
  uint16_t nbRxd = static_cast<uint16_t>(ArgUint32(info, 2, "rxDescriptors", op, UINT16_MAX));
  uint16_t nbTxd = static_cast<uint16_t>(ArgUint32(info, 3, "txDescriptors", op, UINT16_MAX));
  rte_mempool* mp = Mempool::FromValue(env, info[4], op)->Get(env, op);

  size_t mark = LogCapture::Instance().Mark();
  rte_eth_dev_info dev;
  int ret = rte_eth_dev_info_get(id, &dev);
  if (ret != 0) ThrowDpdk(env, ret, "Cannot read device info", op, PortTable::Describe(id), mark);
  rte_eth_conf conf = {};
  // Link state change interrupts, where the driver has them, feed Port 'link' events.
  if (dev.dev_flags != nullptr && (*dev.dev_flags & RTE_ETH_DEV_INTR_LSC)) conf.intr_conf.lsc = 1;
  ret = rte_eth_dev_configure(id, nbRx, nbTx, &conf);
  if (ret != 0) {
    ThrowDpdk(env, ret,
              "Cannot configure " + std::to_string(nbRx) + " rx and " + std::to_string(nbTx) +
                  " tx queues (device allows " + std::to_string(dev.max_rx_queues) + " and " +
                  std::to_string(dev.max_tx_queues) + ")",
              op, PortTable::Describe(id), mark);
  }
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nbRxd, &nbTxd);
  if (ret != 0)
    ThrowDpdk(env, ret, "Cannot adjust descriptor counts", op, PortTable::Describe(id), mark);
  int socket = rte_eth_dev_socket_id(id);
  PortTable::ReleasePools(record);
  // Until every queue is set up, bursts and engines must see none.
  record.nbRx = 0;
  record.nbTx = 0;
  for (uint16_t q = 0; q < nbRx; q++) {
    ret = rte_eth_rx_queue_setup(id, q, nbRxd, socket, nullptr, mp);
    if (ret != 0) {
      ThrowDpdk(env, ret, "Cannot set up rx queue " + std::to_string(q), op,
                PortTable::Describe(id), mark);
    }
    Mempool::AddUser(mp);
    record.rxPools.push_back(mp);
  }
  for (uint16_t q = 0; q < nbTx; q++) {
    ret = rte_eth_tx_queue_setup(id, q, nbTxd, socket, nullptr);
    if (ret != 0) {
      ThrowDpdk(env, ret, "Cannot set up tx queue " + std::to_string(q), op,
                PortTable::Describe(id), mark);
    }
  }
  record.nbRx = nbRx;
  record.nbTx = nbTx;
  Napi::Object result = Napi::Object::New(env);
  result.Set("rxDescriptors", nbRxd);
  result.Set("txDescriptors", nbTxd);
  return result;
}

Napi::Value Port::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.start";
  uint16_t id = Checked(env, op);
  PortRecord& record = PortTable::Record(id);
  if (record.started) return env.Undefined();
  if (record.nbRx == 0 && record.nbTx == 0) {
    Throw(env, "EINVAL", "Port is not configured: call configure() before start()", op,
          PortTable::Describe(id));
  }
  size_t mark = LogCapture::Instance().Mark();
  int ret = rte_eth_dev_start(id);
  if (ret != 0) ThrowDpdk(env, ret, "Cannot start port", op, PortTable::Describe(id), mark);
  record.started = true;
  return env.Undefined();
}

Napi::Value Port::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.stop";
  uint16_t id = Checked(env, op);
  PortRecord& record = PortTable::Record(id);
  if (!record.started) return env.Undefined();
  ThrowIfPolled(env, op, id);
  size_t mark = LogCapture::Instance().Mark();
  record.started = false;
  int ret = rte_eth_dev_stop(id);
  if (ret != 0) {
    record.started = true;
    ThrowDpdk(env, ret, "Cannot stop port", op, PortTable::Describe(id), mark);
  }
  return env.Undefined();
}

Napi::Value Port::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.close";
  if (!Eal::Running() || PortTable::Record(id_).epoch != epoch_) return env.Undefined();
  ThrowIfPolled(env, op, id_);
  StopWatchingLink();
  std::lock_guard<std::mutex> lock(PortTable::Mutex());
  PortTable::Teardown(id_);
  return env.Undefined();
}

Napi::Value Port::GetPromiscuous(const Napi::CallbackInfo& info) {
  uint16_t id = Checked(info.Env(), "Port.promiscuous");
  return Napi::Boolean::New(info.Env(), rte_eth_promiscuous_get(id) == 1);
}

Napi::Value Port::SetPromiscuous(const Napi::CallbackInfo& info) {
  bool on = info[0].ToBoolean();
  Run(info.Env(), "Port.setPromiscuous", "Cannot change promiscuous mode", [on](uint16_t id) {
    return on ? rte_eth_promiscuous_enable(id) : rte_eth_promiscuous_disable(id);
  });
  return info.Env().Undefined();
}

Napi::Value Port::GetMac(const Napi::CallbackInfo& info) {
  uint16_t id = Checked(info.Env(), "Port.mac");
  rte_ether_addr mac;
  rte_eth_macaddr_get(id, &mac);
  return Napi::String::New(info.Env(), MacToString(mac));
}

Napi::Value Port::SetMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.setMac";
  uint16_t id = Checked(env, op);
  std::string text = ArgString(info, 0, "mac", op);
  rte_ether_addr mac;
  if (rte_ether_unformat_addr(text.c_str(), &mac) != 0) {
    Throw(env, "EINVAL", "Invalid MAC address \"" + text + "\": expected xx:xx:xx:xx:xx:xx", op,
          PortTable::Describe(id));
  }
  Run(env, op, "Cannot set MAC address " + text,
      [&mac](uint16_t port) { return rte_eth_dev_default_mac_addr_set(port, &mac); });
  return env.Undefined();
}

Napi::Value Port::GetMtu(const Napi::CallbackInfo& info) {
  uint16_t mtu = 0;
  Run(info.Env(), "Port.mtu", "Cannot read MTU",
      [&mtu](uint16_t id) { return rte_eth_dev_get_mtu(id, &mtu); });
  return Napi::Number::New(info.Env(), mtu);
}

Napi::Value Port::SetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.setMtu";
  uint32_t mtu = ArgUint32(info, 0, "mtu", op, UINT16_MAX);
  Run(env, op, "Cannot set MTU " + std::to_string(mtu),
      [mtu](uint16_t id) { return rte_eth_dev_set_mtu(id, static_cast<uint16_t>(mtu)); });
  return env.Undefined();
}

Napi::Value Port::Link(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_eth_link link = {};
  Run(env, "Port.link", "Cannot read link status",
      [&link](uint16_t id) { return rte_eth_link_get_nowait(id, &link); });
  Napi::Object result = Napi::Object::New(env);
  result.Set("up", link.link_status == RTE_ETH_LINK_UP);
  result.Set("speedMbps", link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed);
  result.Set("fullDuplex", link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX);
  result.Set("autoneg", link.link_autoneg == RTE_ETH_LINK_AUTONEG);
  return result;
}

Napi::Value Port::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_eth_stats stats;
  uint16_t id = Run(env, "Port.stats", "Cannot read stats",
                    [&stats](uint16_t id) { return rte_eth_stats_get(id, &stats); });
  Napi::Object result = Napi::Object::New(env);
  result.Set("rxPackets", static_cast<double>(stats.ipackets));
  result.Set("txPackets", static_cast<double>(stats.opackets));
  result.Set("rxBytes", static_cast<double>(stats.ibytes));
  result.Set("txBytes", static_cast<double>(stats.obytes));
  result.Set("rxMissed", static_cast<double>(stats.imissed));
  result.Set("rxErrors", static_cast<double>(stats.ierrors));
  result.Set("txErrors", static_cast<double>(stats.oerrors));
  result.Set("rxNoMbuf", static_cast<double>(stats.rx_nombuf));
  // DPDK counts per queue only for the first RTE_ETHDEV_QUEUE_STAT_CNTRS queues.
  uint16_t queues = std::min<uint16_t>(
      std::max(PortTable::Record(id).nbRx.load(), PortTable::Record(id).nbTx.load()),
      RTE_ETHDEV_QUEUE_STAT_CNTRS);
  Napi::Array perQueue = Napi::Array::New(env, queues);
  for (uint16_t q = 0; q < queues; q++) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("rxPackets", static_cast<double>(stats.q_ipackets[q]));
    entry.Set("txPackets", static_cast<double>(stats.q_opackets[q]));
    entry.Set("rxBytes", static_cast<double>(stats.q_ibytes[q]));
    entry.Set("txBytes", static_cast<double>(stats.q_obytes[q]));
    entry.Set("rxErrors", static_cast<double>(stats.q_errors[q]));
    perQueue.Set(q, entry);
  }
  result.Set("queues", perQueue);
  return result;
}

Napi::Value Port::ResetStats(const Napi::CallbackInfo& info) {
  Run(info.Env(), "Port.resetStats", "Cannot reset stats", rte_eth_stats_reset);
  return info.Env().Undefined();
}

Napi::Value Port::Xstats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.xstats";
  uint16_t id = Checked(env, op);
  size_t mark = LogCapture::Instance().Mark();
  int count = rte_eth_xstats_get_names(id, nullptr, 0);
  if (count < 0)
    ThrowDpdk(env, count, "Cannot read xstats names", op, PortTable::Describe(id), mark);
  std::vector<rte_eth_xstat_name> names(count);
  std::vector<rte_eth_xstat> values(count);
  rte_eth_xstats_get_names(id, names.data(), count);
  int got = rte_eth_xstats_get(id, values.data(), count);
  if (got < 0) ThrowDpdk(env, got, "Cannot read xstats", op, PortTable::Describe(id), mark);
  Napi::Object result = Napi::Object::New(env);
  for (int i = 0; i < got && i < count; i++) {
    result.Set(names[values[i].id].name, static_cast<double>(values[i].value));
  }
  return result;
}

Napi::Value Port::ResetXstats(const Napi::CallbackInfo& info) {
  Run(info.Env(), "Port.resetXstats", "Cannot reset xstats", rte_eth_xstats_reset);
  return info.Env().Undefined();
}

int Port::OnLinkEvent(uint16_t, rte_eth_event_type, void* arg, void*) {
  // Runs on DPDK's interrupt thread: hand over to the JS thread, never call N-API here.
  Napi::ThreadSafeFunction* listener = static_cast<Napi::ThreadSafeFunction*>(arg);
  listener->NonBlockingCall([](Napi::Env env, Napi::Function callback) {
    try {
      callback.Call({});
    } catch (const Napi::Error& error) {
      // A throwing listener is the app's uncaught exception, as for any event listener.
      napi_fatal_exception(env, error.Value());
    }
  });
  return 0;
}

// watchLink(callback | null): calls back (no arguments) on each link state change.
Napi::Value Port::WatchLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.watchLink";
  StopWatchingLink();
  if (!info[0].IsFunction()) return env.Undefined();
  uint16_t id = Checked(env, op);
  linkListener_ =
      Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "dpdk-ts link", 0, 1);
  linkListener_.Unref(env);  // link events alone do not keep Node running
  size_t mark = LogCapture::Instance().Mark();
  int ret =
      rte_eth_dev_callback_register(id, RTE_ETH_EVENT_INTR_LSC, &Port::OnLinkEvent, &linkListener_);
  if (ret != 0) {
    linkListener_.Release();
    ThrowDpdk(env, ret, "Cannot watch link state", op, PortTable::Describe(id), mark);
  }
  watching_ = true;
  return env.Undefined();
}

void Port::StopWatchingLink() {
  if (!watching_) return;
  watching_ = false;
  if (Eal::Running()) {
    // -EAGAIN means the callback is running right now on the interrupt thread: retry.
    while (rte_eth_dev_callback_unregister(id_, RTE_ETH_EVENT_INTR_LSC, &Port::OnLinkEvent,
                                           &linkListener_) == -EAGAIN) {
    }
  }
  linkListener_.Release();
}

Napi::Value Port::AcquireJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t id = Checked(env, "Port.acquire");
  if (!PortTable::Acquire(id))
    Throw(env, "ERR_PORT_STOPPED", "Port is not started: call port.start() before polling it",
          "Port.acquire", PortTable::Describe(id));
  return env.Undefined();
}

Napi::Value Port::ReleaseJs(const Napi::CallbackInfo& info) {
  PortTable::Release(id_);
  return info.Env().Undefined();
}

Napi::Value Port::GetQueueBase(const Napi::CallbackInfo& info) {
  uint64_t base = (epoch_ << (kQueueBits + kPortBits)) | (uint64_t{id_} << kQueueBits);
  return Napi::Number::New(info.Env(), static_cast<double>(base));
}

Napi::Value Port::GetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_);
}

Napi::Value Port::IsStarted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(
      info.Env(), PortTable::Record(id_).epoch == epoch_ && PortTable::Record(id_).started);
}

}  // namespace dpdkts
