/**
 * Postgres and Redis servers that one test file starts, stops and throws away, so fault tests
 * never touch the shared servers on 5432 and 6379. The binaries must be installed (.ci/run
 * installs them); a missing one fails the test with the fix instead of skipping it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const READY_TIMEOUT_MS = 20_000;

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no port from the OS');
  return address.port;
}

/** A private `redis-server` without persistence: a restart starts it empty. */
export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Deletes every key, as `FLUSHALL` by an operator would. */
  flush(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port with the given eviction policy. */
export async function startPrivateRedis(options: { maxmemoryPolicy?: string } = {}): Promise<PrivateRedis> {
  const binary = requireBinary('redis-server', ['/usr/bin/redis-server', '/usr/local/bin/redis-server']);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | undefined;

  const start = async () => {
    if (child !== undefined && child.exitCode === null) return;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (options.maxmemoryPolicy !== undefined) args.push('--maxmemory-policy', options.maxmemoryPolicy);
    const started = spawn(binary, args, { stdio: 'ignore' });
    child = started;
    // A test that fails before its clean-up must not leave the server running.
    process.once('exit', () => started.kill('SIGKILL'));
    await waitFor(`redis-server on ${port}`, async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      // Refused connections are expected until the server listens.
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    port,
    start,
    stop,
    flush: async () => {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };
}

/** A private Postgres cluster with trust authentication on loopback. */
export interface PrivatePostgres {
  /** Server URL without a database name, like TEST_POSTGRES_URL. */
  url: string;
  port: number;
  /** Fast shutdown: open sessions are terminated, as when the server is stopped for maintenance. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>;
}

/**
 * Creates a cluster with `initdb` in a temporary directory and starts it with `pg_ctl`. initdb
 * refuses to run as root, so as root both run as the `postgres` user (through runuser).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const binDir = findPostgresBinDir();
  const port = await freePort();
  const baseDir = mkdtempSync(join(tmpdir(), 'pim-pg-'));
  const dataDir = join(baseDir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (owner.status !== 0) throw new Error('running as root needs a `postgres` user for initdb; install the postgresql package');
    chownSync(baseDir, Number(owner.stdout.trim()), Number(group.stdout.trim()));
  }
  const run = (binary: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(binDir, binary);
    const fullArgs = asRoot ? ['-u', 'postgres', '--', join(binDir, binary), ...args] : args;
    const result = spawnSync(command, fullArgs, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  };

  run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const serverOptions = `-p ${port} -k ${baseDir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = async () => {
    run('pg_ctl', ['-D', dataDir, '-o', serverOptions, '-l', join(baseDir, 'server.log'), '-w', '-t', '30', 'start']);
  };
  const stop = async () => {
    run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  await start();
  // A test that fails before its clean-up must not leave the cluster running.
  process.once('exit', () => {
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
    } catch {
      // Already stopped.
    }
    rmSync(baseDir, { recursive: true, force: true });
  });
  return {
    url: `postgres://postgres@127.0.0.1:${port}`,
    port,
    start,
    stop,
    destroy: async () => {
      try {
        await stop();
      } catch {
        // Already stopped.
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

function findPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error(
    'initdb and pg_ctl not found under /usr/lib/postgresql/*/bin: install the postgresql package (bash .ci/run does)',
  );
}

function requireBinary(name: string, candidates: string[]): string {
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`${name} not found (looked in ${candidates.join(', ')}): install it (bash .ci/run does)`);
  }
  return found;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
