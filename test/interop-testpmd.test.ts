import t from 'tap';
import { freeHugepages } from './helpers/dpdk.js';
import { virtioAgainstTestpmd } from './helpers/interop.js';

t.test(
  'virtio-user here, dpdk-testpmd (net_vhost, macswap) in another process, on hugepages',
  { skip: freeHugepages() < 256 ? 'fewer than 256 free hugepages' : false },
  (t) => virtioAgainstTestpmd(t, false),
);
