import t from 'tap';
import { Mempool } from '../lib/index.js';
import { initEal } from './helpers/dpdk.js';
import { vhostVirtioPair } from './helpers/vhost-pair.js';

// The same as vdev.test.ts's transfer, with EAL on --no-huge: memory shared through memfd.
initEal('vdev-nohuge', { noHuge: true });
const pool = Mempool.create({ name: 'vdev-nohuge', size: 4095 });
t.teardown(() => pool.close());

t.test('vhost-user <-> virtio-user in one process with --no-huge', (t) => vhostVirtioPair(t, pool));
