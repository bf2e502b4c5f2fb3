import t from 'tap';
import { virtioAgainstTestpmd } from './helpers/interop.js';

t.test('virtio-user here, dpdk-testpmd (net_vhost, macswap) in another process, with --no-huge', (t) =>
  virtioAgainstTestpmd(t, true),
);
