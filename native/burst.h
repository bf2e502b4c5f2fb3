// The raw burst path: rxBurst, txBurst and txRxBurst, the calls a JS packet loop makes for
// every burst. They are plain N-API callbacks taking numbers (a queue handle and a batch id)
// rather than methods of Port and Batch objects: unwrapping objects costs more than the
// burst itself.
#pragma once

#include <napi.h>

namespace dpdkts {

class Addon;

// Exports rxBurst, txBurst and txRxBurst. They get `addon` as their data: the batches they
// name by id are this environment's.
void InitBursts(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace dpdkts
