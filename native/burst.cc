// The burst path (see burst.h). A burst runs what is in this file, what is inline in batch.h
// and port_table.h, and Batch's loops in batch.cc: the same calls across the same translation
// units as when this was part of port.cc. Errors are built only on the way out.
#include "burst.h"

#include <rte_ethdev.h>

#include <string>

#include "addon.h"
#include "batch.h"
#include "eal.h"
#include "errors.h"
#include "port_table.h"

namespace dpdkts {

namespace {

// A queue of a port and the batch a burst works on.
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
  PortRecord& record = PortTable::Record(static_cast<uint16_t>(portId));
  uint16_t queues = rx ? record.nbRx : record.nbTx;
  if (!record.started || queue >= queues || record.epoch.load() != epoch) {
    Eal::Require(env, op);
    std::string port = PortTable::Describe(static_cast<uint16_t>(portId));
    if (record.epoch.load() != epoch) Throw(env, "ERR_CLOSED", "Port is closed", op, port);
    if (!record.started)
      Throw(env, "ERR_PORT_STOPPED", "Port is not started: call port.start() first", op, port);
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
            op, PortTable::Describe(args.portId));
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

void InitBursts(Napi::Env env, Napi::Object exports, Addon* addon) {
  napi_value rx, tx;
  napi_create_function(env, "rxBurst", NAPI_AUTO_LENGTH, RxBurst, addon, &rx);
  napi_create_function(env, "txBurst", NAPI_AUTO_LENGTH, TxBurst, addon, &tx);
  exports.Set("rxBurst", Napi::Value(env, rx));
  exports.Set("txBurst", Napi::Value(env, tx));
  napi_value txRx;
  napi_create_function(env, "txRxBurst", NAPI_AUTO_LENGTH, TxRxBurst, addon, &txRx);
  exports.Set("txRxBurst", Napi::Value(env, txRx));
}

}  // namespace dpdkts
