/** Prometheus metrics of what the SDK owns (DpdkMetrics), and the HTTP server Prometheus scrapes (serveMetrics). */
export { DpdkMetrics, type DpdkMetricsOptions, type MetricsSource } from './dpdk-metrics.js';
export { latencyBucketsSeconds } from './latency-histogram.js';
export { serveMetrics, type MetricsServer, type MetricsServerOptions } from './server.js';
