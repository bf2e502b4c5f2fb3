import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { containerCreateArgs, dpdkContainerCapabilities } from '../tools/lab/container-args.js';
import { debianMirrors, imageSourcesList } from '../tools/lab/debian-mirrors.js';
import { DockerEngine } from '../tools/lab/docker-engine.js';
import { cApps } from '../tools/lab/c-apps.js';
import { buildBaseImage, buildImage } from '../tools/lab/images.js';
import { stageDpdkTs } from '../tools/lab/staging.js';
import { AppRunner, ContainerAppRunner, HostAppRunner, OutputStream } from '../tools/lab/runner.js';

const packageRoot = resolve(__dirname, '..');

// On a fresh machine the first run installs docker.io and debootstrap and builds the images
// (about 5 minutes); later runs reuse the images and take about a minute and a half.
t.setTimeout(15 * 60_000);

t.test(
  'container arguments: minimal capabilities, no new privileges, read-only root, no network, pinning, label, volumes',
  async (t) => {
    const args = containerCreateArgs('dpdk-ts-abcd-tx', 'abcd', {
      name: 'tx',
      image: 'dpdk-ts-lab/testpmd',
      cpus: '1',
      volumes: [
        { host: '/dev/hugepages', container: '/dev/hugepages' },
        { host: '/tmp/socks', container: '/var/run/dpdk-ts', readOnly: true },
      ],
      entrypoint: 'dpdk-testpmd',
      args: ['--no-pci'],
      env: { A: '1' },
      interactive: true,
    });
    t.same(args, [
      'create',
      '--name',
      'dpdk-ts-abcd-tx',
      '--label',
      'dpdk-ts.lab.session=abcd',
      '--network',
      'none',
      '--init',
      '--cap-drop',
      'ALL',
      '--cap-add',
      'SYS_NICE',
      '--security-opt',
      'no-new-privileges',
      '--read-only',
      '--tmpfs',
      '/var/run/dpdk',
      '--tmpfs',
      '/tmp',
      '--cpuset-cpus',
      '1',
      '--interactive',
      '--volume',
      '/dev/hugepages:/dev/hugepages',
      '--volume',
      '/tmp/socks:/var/run/dpdk-ts:ro',
      '--env',
      'A=1',
      '--entrypoint',
      'dpdk-testpmd',
      'dpdk-ts-lab/testpmd',
      '--no-pci',
    ]);
    t.same(dpdkContainerCapabilities, ['SYS_NICE']);
    t.notOk(args.includes('--privileged'));

    const base = { name: 'tx', image: 'i', cpus: '1' };
    const rejects = (options: object, pattern: RegExp): void => {
      t.throws(() => containerCreateArgs('n', 's', options as never), {
        name: 'DpdkError',
        code: 'EINVAL',
        message: pattern,
      });
    };
    rejects({ ...base, privileged: true }, /Unknown option "privileged"/);
    rejects({ ...base, cpus: 'all' }, /cpus must be a cpuset/);
    rejects({ ...base, name: '../x' }, /name must match/);
    rejects({ ...base, volumes: [{ host: 'rel', container: '/x' }] }, /volumes\[0\]\.host must be an absolute path/);
    rejects({ ...base, volumes: [{ host: '/a:b', container: '/x' }] }, /must not contain ":"/);
    rejects({ ...base, volumes: [{ host: '/a', container: '/x', mode: 'rw' }] }, /Unknown option "mode"/);
    rejects({ ...base, env: { 'A-B': 'x' } }, /env name "A-B"/);
  },
);

t.test("container arguments: the host's network only when asked (the lab's --metrics)", async (t) => {
  const base = { name: 'tx', image: 'i', cpus: '1' };
  const network = (args: string[]): string => args[args.indexOf('--network') + 1];
  t.equal(network(containerCreateArgs('n', 's', base)), 'none');
  t.equal(network(containerCreateArgs('n', 's', { ...base, hostNetwork: false })), 'none');
  t.equal(network(containerCreateArgs('n', 's', { ...base, hostNetwork: true })), 'host');
});

t.test('Debian mirrors are read from apt sources, one-line and deb822', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dpdk-ts-apt-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const list = join(dir, 'sources.list');
  const sources = join(dir, 'debian.sources');
  writeFileSync(
    list,
    '# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\ndeb-src http://x/debian bookworm main\n',
  );
  writeFileSync(
    sources,
    'Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n' +
      'Types: deb\nURIs: http://deb.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
  );
  const mirrors = debianMirrors('bookworm', [list, sources]);
  t.same(mirrors, {
    main: 'http://mirror.example/debian',
    updates: 'http://deb.example/debian',
    security: 'http://deb.example/debian-security',
  });
  t.equal(
    imageSourcesList('bookworm', mirrors),
    'deb http://mirror.example/debian bookworm main\ndeb http://deb.example/debian bookworm-updates main\ndeb http://deb.example/debian-security bookworm-security main\n',
  );
  t.throws(() => debianMirrors('trixie', [list]), {
    name: 'DpdkError',
    code: 'ENOENT',
    message: /no apt source for Debian "trixie"/,
  });
});

t.test('staging copies what is built and the Node binary, and lists Debian packages', async (t) => {
  const context = await mkdtemp(join(tmpdir(), 'dpdk-ts-context-'));
  t.teardown(() => rm(context, { recursive: true, force: true }));
  const staged = await stageDpdkTs(packageRoot, context);
  t.ok(staged.staged.includes('package.json'));
  t.ok(staged.staged.includes('node_modules/bindings'));
  t.ok(staged.staged.includes('node_modules/file-uri-to-path'));
  // lib/index.js loads the metrics, and they prom-client: without it no example starts in a container.
  t.ok(staged.staged.includes('node_modules/prom-client'));
  t.ok(staged.staged.includes('node_modules/tdigest'), "prom-client's own dependencies");
  t.ok(existsSync(join(context, 'usr/local/bin/node')));
  for (const path of ['dist/lib', 'dist/examples', 'build/Release/dpdk_ts.node']) {
    t.equal(
      staged.staged.includes(path) || staged.missing.includes(path),
      true,
      `${path} is staged or reported missing`,
    );
  }
  for (const app of Object.values(cApps(packageRoot))) {
    t.equal(
      staged.staged.includes(app.host) || staged.missing.includes(app.host),
      true,
      `${app.host} is staged or reported missing`,
    );
    if (staged.staged.includes(app.host)) t.ok(existsSync(join(context, app.image)), `${app.image} is in the context`);
  }
  t.ok(staged.debPackages.includes('libc6'));
  t.ok(staged.debPackages.includes('librte-net-virtio23'));
  t.equal(readFileSync(join(context, 'deb-packages.txt'), 'utf8'), `${staged.debPackages.join('\n')}\n`);
});

t.test('host runner: taskset pinning, stdin, line streaming, exit code, kill', async (t) => {
  const socketDir = await mkdtemp(join(tmpdir(), 'dpdk-ts-sock-'));
  t.teardown(() => rm(socketDir, { recursive: true, force: true }));
  const lines: string[] = [];
  const echo = await HostAppRunner.start({
    name: 'echo',
    program: { executable: 'sh' },
    args: (paths) => ['-c', 'taskset -pc $$; read answer; echo "got $answer in $0"; exit 3', paths.socketDir],
    cpus: '1',
    socketDir,
    interactive: true,
    onLine: (line) => lines.push(line),
  });
  echo.write('yes\n');
  t.same(await echo.wait(), { code: 3, signal: null });
  t.match(lines[0], /current affinity list: 1$/);
  t.equal(lines[1], `got yes in ${socketDir}`);

  const sleeper = await HostAppRunner.start({
    name: 'sleeper',
    program: { executable: 'sleep' },
    args: ['60'],
    cpus: '0',
    socketDir,
  });
  t.throws(() => sleeper.write('x'), { code: 'EINVAL', message: /not started with interactive: true/ });
  t.same(await sleeper.kill('SIGTERM', 5_000), { code: null, signal: 'SIGTERM' });
  t.same(await sleeper.kill(), { code: null, signal: 'SIGTERM' }, 'kill after exit returns the same exit');

  await t.rejects(
    HostAppRunner.start({ name: 'x', program: { executable: 'true' }, cpus: '0', socketDir, detach: true } as never),
    { code: 'EINVAL', message: /Unknown option "detach"/ },
  );
  await t.rejects(HostAppRunner.start({ name: 'x', program: { binary: 'true' } as never, cpus: '0', socketDir }), {
    code: 'EINVAL',
    message: /program must be \{ example: "<name>" \} or \{ executable: "<program>" \}/,
  });
  await t.rejects(HostAppRunner.start({ name: 'x', program: { example: 'no-such-app' }, cpus: '0', socketDir }), {
    code: 'ENOENT',
    message: /dist\/examples\/no-such-app\.js does not exist/,
  });
});

const isRoot = process.getuid?.() === 0;

/** Makes 512 hugepages of 2 MiB available at /dev/hugepages (idempotent). */
function ensureHugepages(): void {
  const pagesFile = '/proc/sys/vm/nr_hugepages';
  if (Number(readFileSync(pagesFile, 'utf8')) < 512) writeFileSync(pagesFile, '512');
  const mounted = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === '/dev/hugepages' && line.split(' ')[2] === 'hugetlbfs');
  if (!mounted) {
    execFileSync('mkdir', ['-p', '/dev/hugepages']);
    execFileSync('mount', ['-t', 'hugetlbfs', 'none', '/dev/hugepages']);
  }
}

/** The largest `RX-packets: N` (or TX) number in testpmd's output lines. */
function maxCounter(lines: readonly string[], counter: 'RX-packets' | 'TX-packets'): number {
  let max = 0;
  for (const line of lines) {
    const match = new RegExp(`${counter}:\\s+(\\d+)`).exec(line);
    if (match !== null) max = Math.max(max, Number(match[1]));
  }
  return max;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
  }
}

t.test(
  'testpmd in a container sends to testpmd on the host over vhost-user',
  { skip: isRoot ? false : 'needs root (dockerd, hugepages)' },
  async (t) => {
    ensureHugepages();
    const engine = await DockerEngine.ensure({ log: (line) => t.comment(line) });
    t.teardown(() => engine.stop());
    const baseImage = await buildBaseImage(engine);
    const testpmdImage = await buildImage(engine, {
      name: 'dpdk-ts-lab/testpmd',
      dockerfile: join(packageRoot, 'examples/docker/Dockerfile.testpmd'),
      baseImage,
    });

    const variants: { name: string; memory: string[] }[] = [
      { name: 'hugepages', memory: ['--in-memory'] },
      // Without hugepages the virtio-user side shares its memory through memfd; the pools must
      // fit in -m. --no-huge implies --legacy-mem, which rules out --in-memory: --no-shconf
      // keeps the runtime files away instead.
      { name: 'no-huge', memory: ['--no-huge', '-m', '512', '--no-shconf'] },
    ];
    for (const variant of variants) {
      await t.test(`${variant.name}: packets arrive and nothing is left behind`, async (t) => {
        const id = randomBytes(3).toString('hex');
        const hostPrefix = `lab-rx-${id}`;
        const containerPrefix = `lab-tx-${id}`;
        const socketDir = await mkdtemp('/tmp/dpdk-ts-lab-sock-');
        // EAL creates its runtime directory even without shared files and leaves it behind.
        const runtimeDir = `/var/run/dpdk/${hostPrefix}`;
        const runners: AppRunner[] = [];
        t.teardown(async () => {
          for (const runner of runners) await runner.kill('SIGKILL', 2_000);
          await rm(socketDir, { recursive: true, force: true });
          await rm(runtimeDir, { recursive: true, force: true });
        });
        const output: Record<'rx' | 'tx', string[]> = { rx: [], tx: [] };
        const collect = (app: 'rx' | 'tx') => (line: string, stream: OutputStream) => {
          output[app].push(line);
          if (stream === 'stderr' && !line.includes('VHOST_CONFIG')) t.comment(`${app}: ${line}`);
        };
        const pool = ['--total-num-mbufs', '16384'];

        const rx = await HostAppRunner.start({
          name: 'rx',
          program: { executable: 'stdbuf' },
          args: (paths) => [
            '-oL',
            'dpdk-testpmd',
            '--no-pci',
            '--file-prefix',
            hostPrefix,
            ...variant.memory,
            '--lcores',
            '0@0,1@0',
            '--vdev',
            `net_vhost0,iface=${paths.socketDir}/vhost0.sock`,
            '--',
            '--forward-mode=rxonly',
            '--stats-period',
            '1',
            '--nb-cores',
            '1',
            ...pool,
          ],
          cpus: '0',
          socketDir,
          onLine: collect('rx'),
        });
        runners.push(rx);
        await waitFor('the vhost-user socket', () => existsSync(join(socketDir, 'vhost0.sock')), 20_000);

        const tx = await ContainerAppRunner.start(engine, testpmdImage, {
          name: `tx-${variant.name}`,
          program: { executable: 'stdbuf' },
          args: (paths) => [
            '-oL',
            'dpdk-testpmd',
            '--no-pci',
            '--file-prefix',
            containerPrefix,
            ...variant.memory,
            '--single-file-segments',
            '--lcores',
            '0@1,1@1',
            '--vdev',
            `net_virtio_user0,path=${paths.socketDir}/vhost0.sock`,
            '--',
            '--forward-mode=txonly',
            '--stats-period',
            '1',
            '--nb-cores',
            '1',
            ...pool,
          ],
          cpus: '1',
          socketDir,
          onLine: collect('tx'),
        });
        runners.push(tx);
        t.same(tx.paths, { socketDir: '/var/run/dpdk-ts', hugepageDir: '/dev/hugepages' });

        await waitFor('packets on the host side', () => maxCounter(output.rx, 'RX-packets') > 0, 90_000);
        await new Promise((resolveDelay) => setTimeout(resolveDelay, 3_000));
        const txExit = await tx.kill('SIGINT', 10_000);
        const rxExit = await rx.kill('SIGINT', 10_000);
        const received = maxCounter(output.rx, 'RX-packets');
        const sent = maxCounter(output.tx, 'TX-packets');
        t.comment(`${variant.name}: container sent ${sent}, host received ${received} packets`);
        t.ok(received > 100_000, `the host received ${received} packets`);
        t.ok(sent >= received, `the container sent ${sent} >= ${received} packets`);
        t.equal(txExit.code, 0, 'the container app exited cleanly on SIGINT');
        t.equal(rxExit.code, 0, 'the host app exited cleanly on SIGINT');

        t.same(await engine.sessionContainers(), [], 'no container of this session remains');
        const leftovers = readdirSync('/dev/hugepages').filter(
          (file) => file.startsWith(hostPrefix) || file.startsWith(containerPrefix),
        );
        t.same(leftovers, [], 'no hugepage files of these prefixes remain');
        t.same(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'the host app left no DPDK runtime files');
      });
    }

    await t.test('container runner: stdin, line streaming, exit code, removal', async (t) => {
      const socketDir = await mkdtemp('/tmp/dpdk-ts-lab-sock-');
      t.teardown(() => rm(socketDir, { recursive: true, force: true }));
      const lines: string[] = [];
      const echo = await ContainerAppRunner.start(engine, testpmdImage, {
        name: 'echo',
        program: { executable: 'sh' },
        args: (paths) => [
          '-c',
          'read answer; echo "got $answer in $0"; grep Cpus_allowed_list /proc/self/status; exit 3',
          paths.socketDir,
        ],
        cpus: '1',
        socketDir,
        interactive: true,
        onLine: (line) => lines.push(line),
      });
      echo.write('yes\n');
      echo.closeStdin();
      t.same(await echo.wait(), { code: 3, signal: null });
      t.same(lines, ['got yes in /var/run/dpdk-ts', 'Cpus_allowed_list:\t1']);
      t.same(await engine.sessionContainers(), [], 'the exited container was removed');
    });

    await t.test('an app image runs dist/examples/<app>.js with the staged Node, like the host runner', async (t) => {
      // A package root with one example stands in for the built dpdk-ts, whose examples are
      // written elsewhere; the real root's package.json and runtime npm packages go with it.
      const root = await mkdtemp(join(tmpdir(), 'dpdk-ts-root-'));
      const socketDir = await mkdtemp('/tmp/dpdk-ts-lab-sock-');
      t.teardown(async () => {
        await rm(root, { recursive: true, force: true });
        await rm(socketDir, { recursive: true, force: true });
      });
      await cp(join(packageRoot, 'package.json'), join(root, 'package.json'));
      for (const module of ['bindings', 'file-uri-to-path']) {
        await cp(join(packageRoot, 'node_modules', module), join(root, 'node_modules', module), { recursive: true });
      }
      // DPDK's C apps come from the host (dpdk-testpmd) and the real root's build (l2fwd).
      const l2fwd = cApps(packageRoot).l2fwd.host;
      if (existsSync(l2fwd)) {
        await mkdir(join(root, 'build/l2fwd-c/build'), { recursive: true });
        await cp(l2fwd, cApps(root).l2fwd.host);
      }
      await mkdir(join(root, 'dist/examples'), { recursive: true });
      await writeFile(
        join(root, 'dist/examples/hello.js'),
        "require('bindings'); console.log(process.version, require('../../package.json').name, process.argv.slice(2).join(' '));\n",
      );
      const appImage = await buildImage(engine, {
        name: 'dpdk-ts-lab/app-test',
        dockerfile: join(packageRoot, 'examples/docker/Dockerfile.app'),
        baseImage,
        stagePackageFrom: root,
      });
      const options = { name: 'hello', program: { example: 'hello' }, cpus: '1', socketDir } as const;
      const inContainer: string[] = [];
      const container = await ContainerAppRunner.start(engine, appImage, {
        ...options,
        args: (paths) => ['--socket-dir', paths.socketDir],
        onLine: (line) => inContainer.push(line),
      });
      t.same(await container.wait(), { code: 0, signal: null });
      t.same(inContainer, [`${process.version} dpdk-ts --socket-dir /var/run/dpdk-ts`]);
      t.same(container.argv, ['hello', '--socket-dir', '/var/run/dpdk-ts']);

      const onHost: string[] = [];
      const host = await HostAppRunner.start(
        { ...options, args: (paths) => ['--socket-dir', paths.socketDir], onLine: (line) => onHost.push(line) },
        root,
      );
      t.same(await host.wait(), { code: 0, signal: null });
      t.same(onHost, [`${process.version} dpdk-ts --socket-dir ${socketDir}`]);

      // The C apps the lab compares with are in the same image, with every library they link.
      const images = Object.values(cApps(root))
        .filter((app) => existsSync(app.host))
        .map((app) => app.image);
      t.ok(images.includes('/usr/local/bin/dpdk-testpmd'), 'dpdk-testpmd is staged');
      const lddLines: string[] = [];
      const ldd = await ContainerAppRunner.start(engine, appImage, {
        ...options,
        name: 'ldd',
        program: { executable: 'sh' },
        args: [
          '-c',
          `for app in ${images.join(' ')}; do ldd $app | grep 'not found' | sed "s|^|$app: |"; done; echo done`,
        ],
        onLine: (line) => lddLines.push(line),
      });
      t.same(await ldd.wait(), { code: 0, signal: null });
      t.same(lddLines, ['done'], `${images.join(' and ')}: no library missing in the image`);
    });

    await t.test('an engine that answers is used, and left running on stop', async (t) => {
      const savedHost = process.env.DOCKER_HOST;
      process.env.DOCKER_HOST = engine.host;
      t.teardown(() => {
        if (savedHost === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = savedHost;
      });
      const borrowed = await DockerEngine.ensure();
      t.equal(borrowed.ownsDaemon, false);
      t.equal(borrowed.host, engine.host);
      await borrowed.stop();
      await borrowed.stop();
      t.ok(await engine.imageExists(baseImage), 'the engine still answers');
    });

    await engine.stop();
    await engine.stop();
    if (engine.ownsDaemon) {
      const pid = engine.daemonPid as number;
      t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the private dockerd is gone');
    }
  },
);
