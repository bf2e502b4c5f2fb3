/**
 * The soak's chart: three panels over the soak's time, each process's resident memory (a
 * Node app's also right after a full garbage collection), each app's mbufs in use and each
 * app's received packets per second, with a rule at each ovs-vswitchd restart.
 */
import type { TopLevelSpec } from '../charts/render.js';
import type { SoakSample } from './verdict.js';

/** The Vega-Lite spec of the soak's samples, with `restartsMs` (the soak's clock) marked. */
export function soakChartSpec(samples: readonly SoakSample[], restartsMs: readonly number[]): TopLevelSpec {
  const seconds = (atMs: number): number => Math.round(atMs / 100) / 10;
  const rss = samples.flatMap((sample) => [
    ...Object.entries(sample.rssKiB).map(([process, kiB]) => ({
      s: seconds(sample.atMs),
      series: process.split(' ')[0],
      value: kiB / 1024,
    })),
    ...Object.entries(sample.collected ?? {}).map(([process, memory]) => ({
      s: seconds(sample.atMs),
      series: `${process.split(' ')[0]} after a full GC`,
      value: memory.rssKiB / 1024,
    })),
  ]);
  const mbufs = samples.flatMap((sample) =>
    Object.entries(sample.mbufsInUse).map(([app, inUse]) => ({ s: seconds(sample.atMs), series: app, value: inUse })),
  );
  const rates = samples.slice(1).flatMap((sample, i) =>
    Object.entries(sample.packets).map(([app, counts]) => {
      const previous = samples[i].packets[app];
      const dt = (sample.atMs - samples[i].atMs) / 1000;
      return {
        s: seconds(sample.atMs),
        series: app,
        value: previous === undefined || dt <= 0 ? null : (counts.rx - previous.rx) / dt / 1000,
      };
    }),
  );
  const restarts = restartsMs.map((atMs) => ({ s: seconds(atMs) }));
  const panel = (title: string, unit: string, values: object[]): object => ({
    width: 640,
    height: 160,
    title,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 's', type: 'quantitative', title: 'seconds' },
          y: { field: 'value', type: 'quantitative', title: unit },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      {
        data: { values: restarts },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { x: { field: 's', type: 'quantitative' } },
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'soak: dashed lines are ovs-vswitchd restarts',
    vconcat: [
      panel('resident memory', 'MiB', rss),
      panel('mbufs in use', 'mbufs', mbufs),
      panel('packets received by each app', 'Kpps', rates),
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}
