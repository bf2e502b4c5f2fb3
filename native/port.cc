#include "port.h"

#include <rte_dev.h>
#include <rte_ether.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "addon.h"
#include "batch.h"
#include "eal.h"
#include "errors.h"
#include "log_capture.h"
#include "mempool.h"

namespace dpdkts {

namespace {

// Bursts name a port's queue by one number, a queue handle: epoch << 26 | port id << 16 |
// queue. One argument to convert instead of three, and exact in a double while the epoch
// stays below 2^27 (lib/port.ts adds the queue to Port.queueBase).
constexpr int kQueueBits = 16;
constexpr int kPortBits = 10;
constexpr uint64_t kEpochLimit = uint64_t{1} << (53 - kQueueBits - kPortBits);
static_assert(RTE_MAX_ETHPORTS <= (1 << kPortBits), "port ids must fit a queue handle");

// What the SDK knows of each port id, process-wide (worker threads attach by id).
struct PortRecord {
  std::atomic<bool> started{false};
  std::atomic<int> busy{0};
  std::atomic<uint64_t> epoch{1};  // bumped when the port is closed
  std::atomic<uint16_t> nbRx{0};
  std::atomic<uint16_t> nbTx{0};
  bool hotplugged = false;
  std::string deviceName;
  std::vector<rte_mempool*> rxPools;
};
PortRecord g_ports[RTE_MAX_ETHPORTS];
std::mutex g_mutex;

std::string Name(uint16_t id) {
  char name[RTE_ETH_NAME_MAX_LEN] = "";
  rte_eth_dev_get_name_by_port(id, name);
  return name;
}

std::string MacToString(const rte_ether_addr& mac) {
  char text[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(text, sizeof(text), &mac);
  std::string result = text;
  for (char& c : result) c = static_cast<char>(tolower(c));  // as ip(8) and OVS print them
  return result;
}

void ReleasePools(PortRecord& record) {
  for (rte_mempool* mp : record.rxPools) Mempool::RemoveUser(mp);
  record.rxPools.clear();
}

// Stops, closes and (when created at runtime) unplugs a port. Called with g_mutex held.
void Teardown(uint16_t id) {
  PortRecord& record = g_ports[id];
  if (!rte_eth_dev_is_valid_port(id)) return;
  if (record.started) rte_eth_dev_stop(id);
  record.started = false;
  // Whichever Port objects watch the link, the interrupt thread must not call them anymore.
  rte_eth_dev_callback_unregister(id, RTE_ETH_EVENT_INTR_LSC, &Port::OnLinkEvent,
                                  reinterpret_cast<void*>(-1));
  rte_eth_dev_close(id);
  ReleasePools(record);
  if (record.hotplugged) {
    rte_eal_hotplug_remove("vdev", record.deviceName.c_str());
    record.hotplugged = false;
  }
  record.nbRx = 0;
  record.nbTx = 0;
  // Wraps after 2^27 closes of one port id, so that queue handles stay exact.
  uint64_t next = record.epoch + 1;
  record.epoch = next < kEpochLimit ? next : 1;
}

// A port that engines or lcore workers poll cannot be stopped or closed under them.
void ThrowIfPolled(Napi::Env env, const char* op, uint16_t id) {
  int busy = g_ports[id].busy.load();
  if (busy > 0) {
    Throw(env, "EBUSY",
          "Port is polled by " + std::to_string(busy) +
              " running engine(s) or lcore worker(s): stop them first",
          op, Port::Describe(id));
  }
}

napi_value RxBurst(napi_env env, napi_callback_info info);
napi_value TxBurst(napi_env env, napi_callback_info info);
napi_value TxRxBurst(napi_env env, napi_callback_info info);

}  // namespace

std::string Port::Describe(uint16_t id) {
  return "port " + std::to_string(id) + " (" + Name(id) + ")";
}

bool Port::Acquire(uint16_t id) {
  if (id >= RTE_MAX_ETHPORTS || !g_ports[id].started) return false;
  g_ports[id].busy++;
  return true;
}

void Port::Release(uint16_t id) {
  if (id < RTE_MAX_ETHPORTS) g_ports[id].busy--;
}

bool Port::Started(uint16_t id) { return id < RTE_MAX_ETHPORTS && g_ports[id].started; }
uint16_t Port::RxQueues(uint16_t id) { return g_ports[id].nbRx; }
uint16_t Port::TxQueues(uint16_t id) { return g_ports[id].nbTx; }

void Port::CloseAll() {
  std::lock_guard<std::mutex> lock(g_mutex);
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) { Teardown(id); }
}

void Port::Init(Napi::Env env, Napi::Object exports, Addon* addon) {
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
  napi_value rx, tx;
  napi_create_function(env, "rxBurst", NAPI_AUTO_LENGTH, RxBurst, addon, &rx);
  napi_create_function(env, "txBurst", NAPI_AUTO_LENGTH, TxBurst, addon, &tx);
  exports.Set("rxBurst", Napi::Value(env, rx));
  exports.Set("txBurst", Napi::Value(env, tx));
  napi_value txRx;
  napi_create_function(env, "txRxBurst", NAPI_AUTO_LENGTH, TxRxBurst, addon, &txRx);
  exports.Set("txRxBurst", Napi::Value(env, txRx));
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
  name_ = Name(id_);
  epoch_ = g_ports[id_].epoch;
}

Port::~Port() { StopWatchingLink(); }

uint16_t Port::Checked(Napi::Env env, const char* operation) {
  Eal::Require(env, operation);
  if (g_ports[id_].epoch != epoch_ || !rte_eth_dev_is_valid_port(id_)) {
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
  if (ret != 0) ThrowDpdk(env, ret, what, operation, Describe(id), mark);
  return id;
}

// probe(devargs): hotplugs a virtual device (e.g. "net_vhost0,iface=/tmp/s") and returns
// the id of the port it created.
Napi::Value Port::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.probe";
  Eal::Require(env, op);
  std::string devargs = ArgString(info, 0, "devargs", op);
  std::string name = devargs.substr(0, devargs.find(','));
  std::lock_guard<std::mutex> lock(g_mutex);
  uint16_t existing;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &existing) == 0) {
    Throw(env, "EEXIST",
          "A device named \"" + name + "\" already exists (port " + std::to_string(existing) + ")",
          op, name);
  }
  size_t mark = LogCapture::Instance().Mark();
  int ret = rte_dev_probe(devargs.c_str());
  if (ret < 0) ThrowDpdk(env, ret, "Cannot create device \"" + devargs + "\"", op, name, mark);
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    rte_eal_hotplug_remove("vdev", name.c_str());
    Throw(env, "ENODEV", "Device \"" + name + "\" was created but is not an ethernet port", op,
          name);
  }
  g_ports[id].hotplugged = true;
  g_ports[id].deviceName = name;
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
  result.Set("rxQueues", g_ports[id].nbRx.load());
  result.Set("txQueues", g_ports[id].nbTx.load());
  result.Set("started", g_ports[id].started.load());
  result.Set("hotplugged", g_ports[id].hotplugged);
  return result;
}

// configure(rxQueues, txQueues, rxDescriptors, txDescriptors, mempool)
Napi::Value Port::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.configure";
  uint16_t id = Checked(env, op);
  PortRecord& record = g_ports[id];
  if (record.started) {
    Throw(env, "EBUSY", "Port is started: stop it before configuring it", op, Describe(id));
  }
  uint16_t nbRx = static_cast<uint16_t>(ArgUint32(info, 0, "rxQueues", op, UINT16_MAX));
  uint16_t nbTx = static_cast<uint16_t>(ArgUint32(info, 1, "txQueues", op, UINT16_MAX));
  uint16_t nbRxd = static_cast<uint16_t>(ArgUint32(info, 2, "rxDescriptors", op, UINT16_MAX));
  uint16_t nbTxd = static_cast<uint16_t>(ArgUint32(info, 3, "txDescriptors", op, UINT16_MAX));
  rte_mempool* mp = Mempool::FromValue(env, info[4], op)->Get(env, op);

  size_t mark = LogCapture::Instance().Mark();
  rte_eth_dev_info dev;
  int ret = rte_eth_dev_info_get(id, &dev);
  if (ret != 0) ThrowDpdk(env, ret, "Cannot read device info", op, Describe(id), mark);
  rte_eth_conf conf = {};
  // Link state change interrupts, where the driver has them, feed Port 'link' events.
  if (dev.dev_flags != nullptr && (*dev.dev_flags & RTE_ETH_DEV_INTR_LSC)) conf.intr_conf.lsc = 1;
  ret = rte_eth_dev_configure(id, nbRx, nbTx, &conf);
  if (ret != 0) {
    ThrowDpdk(env, ret,
              "Cannot configure " + std::to_string(nbRx) + " rx and " + std::to_string(nbTx) +
                  " tx queues (device allows " + std::to_string(dev.max_rx_queues) + " and " +
                  std::to_string(dev.max_tx_queues) + ")",
              op, Describe(id), mark);
  }
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nbRxd, &nbTxd);
  if (ret != 0) ThrowDpdk(env, ret, "Cannot adjust descriptor counts", op, Describe(id), mark);
  int socket = rte_eth_dev_socket_id(id);
  ReleasePools(record);
  // Until every queue is set up, bursts and engines must see none.
  record.nbRx = 0;
  record.nbTx = 0;
  for (uint16_t q = 0; q < nbRx; q++) {
    ret = rte_eth_rx_queue_setup(id, q, nbRxd, socket, nullptr, mp);
    if (ret != 0) {
      ThrowDpdk(env, ret, "Cannot set up rx queue " + std::to_string(q), op, Describe(id), mark);
    }
    Mempool::AddUser(mp);
    record.rxPools.push_back(mp);
  }
  for (uint16_t q = 0; q < nbTx; q++) {
    ret = rte_eth_tx_queue_setup(id, q, nbTxd, socket, nullptr);
    if (ret != 0) {
      ThrowDpdk(env, ret, "Cannot set up tx queue " + std::to_string(q), op, Describe(id), mark);
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
  PortRecord& record = g_ports[id];
  if (record.started) return env.Undefined();
  if (record.nbRx == 0 && record.nbTx == 0) {
    Throw(env, "EINVAL", "Port is not configured: call configure() before start()", op,
          Describe(id));
  }
  size_t mark = LogCapture::Instance().Mark();
  int ret = rte_eth_dev_start(id);
  if (ret != 0) ThrowDpdk(env, ret, "Cannot start port", op, Describe(id), mark);
  record.started = true;
  return env.Undefined();
}

Napi::Value Port::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.stop";
  uint16_t id = Checked(env, op);
  PortRecord& record = g_ports[id];
  if (!record.started) return env.Undefined();
  ThrowIfPolled(env, op, id);
  size_t mark = LogCapture::Instance().Mark();
  record.started = false;
  int ret = rte_eth_dev_stop(id);
  if (ret != 0) {
    record.started = true;
    ThrowDpdk(env, ret, "Cannot stop port", op, Describe(id), mark);
  }
  return env.Undefined();
}

Napi::Value Port::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "Port.close";
  if (!Eal::Running() || g_ports[id_].epoch != epoch_) return env.Undefined();
  ThrowIfPolled(env, op, id_);
  StopWatchingLink();
  std::lock_guard<std::mutex> lock(g_mutex);
  Teardown(id_);
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
          Describe(id));
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
  uint16_t queues = std::min<uint16_t>(std::max(g_ports[id].nbRx.load(), g_ports[id].nbTx.load()),
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
  if (count < 0) ThrowDpdk(env, count, "Cannot read xstats names", op, Describe(id), mark);
  std::vector<rte_eth_xstat_name> names(count);
  std::vector<rte_eth_xstat> values(count);
  rte_eth_xstats_get_names(id, names.data(), count);
  int got = rte_eth_xstats_get(id, values.data(), count);
  if (got < 0) ThrowDpdk(env, got, "Cannot read xstats", op, Describe(id), mark);
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

namespace {

// rxBurst(queueHandle, batchId), txBurst(...) and txRxBurst(txQueueHandle, batchId,
// rxQueueHandle): the hot path, as plain N-API callbacks taking numbers. Unwrapping objects
// costs more than the burst itself.
struct BurstArgs {
  uint16_t portId;
  uint16_t queue;
  Batch* batch;
};

// Checks that a queue handle names an existing queue of a started port; returns the port id.
uint16_t CheckedQueue(Napi::Env env, napi_value handleValue, const char* op, bool rx,
                      uint16_t* queueOut) {
  int64_t handle = -1;
  napi_get_value_int64(env, handleValue, &handle);
  if (handle < 0) Throw(env, "EINVAL", "Invalid port handle", op);
  uint64_t epoch = static_cast<uint64_t>(handle) >> (kQueueBits + kPortBits);
  uint32_t portId = (static_cast<uint64_t>(handle) >> kQueueBits) & ((1u << kPortBits) - 1);
  uint32_t queue = static_cast<uint64_t>(handle) & ((1u << kQueueBits) - 1);
  if (portId >= RTE_MAX_ETHPORTS) Throw(env, "EINVAL", "Invalid port handle", op);
  PortRecord& record = g_ports[portId];
  uint16_t queues = rx ? record.nbRx : record.nbTx;
  if (!record.started || queue >= queues || record.epoch.load() != epoch) {
    Eal::Require(env, op);
    std::string port = Port::Describe(static_cast<uint16_t>(portId));
    if (record.epoch.load() != epoch) Throw(env, "ERR_CLOSED", "Port is closed", op, port);
    if (!record.started) Throw(env, "ERR_PORT_STOPPED", "Port is not started", op, port);
    const char* kind = rx ? "rx" : "tx";
    Throw(env, "EINVAL",
          std::string(kind) + " queue " + std::to_string(queue) + " does not exist: the port has " +
              std::to_string(queues) + " " + kind + " queue(s)",
          op, port);
  }
  *queueOut = static_cast<uint16_t>(queue);
  return static_cast<uint16_t>(portId);
}

// Reads (queue handle, batch id) and, for txRxBurst, the rx queue handle.
BurstArgs ReadBurstArgs(napi_env rawEnv, napi_callback_info info, const char* op, bool rx,
                        BurstArgs* receive = nullptr) {
  Napi::Env env(rawEnv);
  size_t argc = 3;
  napi_value argv[3];
  void* addon = nullptr;
  napi_get_cb_info(rawEnv, info, &argc, argv, nullptr, &addon);
  if (argc < (receive == nullptr ? 2u : 3u)) Throw(env, "EINVAL", "Invalid burst arguments", op);
  BurstArgs args;
  args.portId = CheckedQueue(env, argv[0], op, rx, &args.queue);
  uint32_t batchId = UINT32_MAX;
  napi_get_value_uint32(rawEnv, argv[1], &batchId);
  args.batch = Batch::FromId(static_cast<Addon*>(addon), batchId);
  if (args.batch == nullptr) Throw(env, "ERR_CLOSED", "Batch is closed", op);
  if (receive != nullptr) {
    receive->portId = CheckedQueue(env, argv[2], op, true, &receive->queue);
    receive->batch = args.batch;
  }
  return args;
}

napi_value Count(napi_env env, uint32_t n) {
  napi_value result;
  napi_create_uint32(env, n, &result);
  return result;
}

// Runs a burst callback's body. Nothing may escape a plain N-API callback (it would end
// the process): errors become JS exceptions.
template <typename Body>
napi_value Guarded(napi_env env, Body body) {
  try {
    return body();
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();
  } catch (const std::exception& error) {
    napi_throw_error(env, "ENOMEM", error.what());
  }
  return nullptr;
}

// Sends the batch's packets (after freeing those marked dropped); the queue took the first
// `sent` of them, which the caller takes out of the batch. `dropped` gets how many were
// marked dropped.
uint16_t Transmit(napi_env env, const char* op, const BurstArgs& args, uint32_t* dropped) {
  Batch* batch = args.batch;
  uint32_t count = batch->PrepareTx(Napi::Env(env), op, dropped);
  return count == 0 ? 0
                    : rte_eth_tx_burst(args.portId, args.queue, batch->Slots(),
                                       static_cast<uint16_t>(count));
}

// Receives into the batch's free room; returns how many packets arrived.
uint16_t Receive(const BurstArgs& args) {
  Batch* batch = args.batch;
  uint16_t room = static_cast<uint16_t>(batch->Room());  // batches hold at most 4096
  uint16_t n = rte_eth_rx_burst(args.portId, args.queue, batch->Slots(), room);
  if (n > 0) batch->Received(n);
  return n;
}

napi_value RxBurst(napi_env env, napi_callback_info info) {
  return Guarded(env, [&]() {
    const char* op = "Port.rxBurst";
    BurstArgs args = ReadBurstArgs(env, info, op, true);
    if (args.batch->Count() != 0) {
      Throw(Napi::Env(env), "EBUSY",
            "Batch still holds " + std::to_string(args.batch->Count()) +
                " packet(s): send them or call batch.free() before receiving into it",
            op, Port::Describe(args.portId));
    }
    return Count(env, Receive(args));
  });
}

napi_value TxBurst(napi_env env, napi_callback_info info) {
  return Guarded(env, [&]() {
    uint32_t dropped;
    BurstArgs args = ReadBurstArgs(env, info, "Port.txBurst", false);
    uint16_t sent = Transmit(env, "Port.txBurst", args, &dropped);
    args.batch->Sent(sent);  // the unsent stay in the batch, first
    return Count(env, sent);
  });
}

// txRxBurst(txQueueHandle, batchId, rxQueueHandle): one forwarding step in one call. Sends
// the batch, frees what the queue refused (the batch header's `unsent`), then receives into
// the emptied batch; returns how many packets were received.
napi_value TxRxBurst(napi_env env, napi_callback_info info) {
  return Guarded(env, [&]() {
    BurstArgs receive;
    BurstArgs send = ReadBurstArgs(env, info, "Port.txRxBurst", false, &receive);
    uint32_t dropped;
    uint16_t sent = Transmit(env, "Port.txRxBurst", send, &dropped);
    send.batch->SetUnsent(dropped + send.batch->Count() - sent);
    send.batch->FreeAll(sent);
    return Count(env, Receive(receive));
  });
}

}  // namespace

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
    ThrowDpdk(env, ret, "Cannot watch link state", op, Describe(id), mark);
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
  if (!Acquire(id))
    Throw(env, "ERR_PORT_STOPPED", "Port is not started", "Port.acquire", Describe(id));
  return env.Undefined();
}

Napi::Value Port::ReleaseJs(const Napi::CallbackInfo& info) {
  Release(id_);
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
  return Napi::Boolean::New(info.Env(), g_ports[id_].epoch == epoch_ && g_ports[id_].started);
}

}  // namespace dpdkts
