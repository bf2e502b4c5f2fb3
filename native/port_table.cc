// The process-wide port table (see port_table.h): lookups, the busy marks of engines and
// lcore workers, and teardown.
#include "port_table.h"

#include <rte_dev.h>
#include <rte_ring.h>

#include <cstdio>

#include "capture.h"
#include "mempool.h"
#include "port.h"

namespace dpdkts {

PortRecord PortTable::records_[RTE_MAX_ETHPORTS];
std::mutex PortTable::mutex_;

std::string PortTable::Name(uint16_t id) {
  char name[RTE_ETH_NAME_MAX_LEN] = "";
  rte_eth_dev_get_name_by_port(id, name);
  return name;
}

std::string PortTable::Describe(uint16_t id) {
  return "port " + std::to_string(id) + " (" + Name(id) + ")";
}

bool PortTable::Acquire(uint16_t id) {
  if (id >= RTE_MAX_ETHPORTS || !records_[id].started) return false;
  records_[id].busy++;
  return true;
}

void PortTable::Release(uint16_t id) {
  if (id < RTE_MAX_ETHPORTS) records_[id].busy--;
}

bool PortTable::Started(uint16_t id) { return id < RTE_MAX_ETHPORTS && records_[id].started; }
uint16_t PortTable::RxQueues(uint16_t id) { return records_[id].nbRx; }
uint16_t PortTable::TxQueues(uint16_t id) { return records_[id].nbTx; }

void PortTable::ReleasePools(PortRecord& record) {
  for (rte_mempool* mp : record.rxPools) Mempool::RemoveUser(mp);
  record.rxPools.clear();
}

// net_ring creates 16 rings per device (ETH_RXTX<i>_<name>) but its close frees only those of
// the configured queues: the others stayed, 15 memzones per RingPort (found by the leak check).
// RingPort.create makes its device with no devargs, so every one of them is the device's own.
void PortTable::FreeRingPortRings(const std::string& deviceName) {
  if (deviceName.rfind("net_ring", 0) != 0) return;
  for (unsigned i = 0; i < RTE_PMD_RING_MAX_RX_RINGS; i++) {
    char name[RTE_RING_NAMESIZE];
    snprintf(name, sizeof(name), "ETH_RXTX%u_%s", i, deviceName.c_str());
    rte_ring_free(rte_ring_lookup(name));
  }
}

void PortTable::Teardown(uint16_t id) {
  PortRecord& record = records_[id];
  if (!rte_eth_dev_is_valid_port(id)) return;
  if (record.started) rte_eth_dev_stop(id);
  record.started = false;
  // Whichever Port objects watch the link, the interrupt thread must not call them anymore.
  rte_eth_dev_callback_unregister(id, RTE_ETH_EVENT_INTR_LSC, &Port::OnLinkEvent,
                                  reinterpret_cast<void*>(-1));
  // A capture's callbacks go before the port: a later port with this id is not captured.
  Capture::DetachPort(id);
  rte_eth_dev_close(id);
  ReleasePools(record);
  if (record.hotplugged) {
    rte_eal_hotplug_remove("vdev", record.deviceName.c_str());
    record.hotplugged = false;
    FreeRingPortRings(record.deviceName);
  }
  record.nbRx = 0;
  record.nbTx = 0;
  // Wraps after 2^27 closes of one port id, so that queue handles stay exact.
  uint64_t next = record.epoch + 1;
  record.epoch = next < kEpochLimit ? next : 1;
}

void PortTable::CloseAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) { Teardown(id); }
}

}  // namespace dpdkts
